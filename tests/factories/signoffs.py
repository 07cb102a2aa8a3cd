"""Sign-offs: signatures need the signer's password; requirements, studies, judgments and
exports go through their services."""

from __future__ import annotations

from typing import Any

import factory

from apps.accounts.models import Role
from apps.signoffs.models import (
    PreferenceExport,
    PreferenceJudgment,
    PreferencePair,
    PreferenceStudy,
    SignOff,
    SignOffWithdrawal,
    StageRequirement,
)
from tests.factories.accounts import OrganizationFactory, member
from tests.factories.base import PASSWORD, ServiceFactory
from tests.factories.registry import ModelVersionFactory


class StageRequirementFactory(ServiceFactory):
    class Meta:
        model = StageRequirement

    organization = factory.SubFactory(OrganizationFactory)
    stage = "validation"
    roles = factory.LazyFunction(lambda: [Role.COMPLIANCE_OFFICER])

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.signoffs.services import stage_requirement_set

        return stage_requirement_set(**fields)


class SignOffFactory(ServiceFactory):
    """A signature on a model version by a compliance officer of its organisation."""

    class Meta:
        model = SignOff

    target = factory.SubFactory(ModelVersionFactory)
    target_type = "model_version"
    signer = factory.LazyAttribute(lambda o: member(o.target.model.organization))
    signer_role = None
    password = PASSWORD
    stage = "validation"
    meaning = "approved"

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.signoffs.services import signoff_create

        return signoff_create(**fields)


class SignOffWithdrawalFactory(ServiceFactory):
    class Meta:
        model = SignOffWithdrawal

    signoff = factory.SubFactory(SignOffFactory)
    user = factory.SelfAttribute("signoff.signer")
    password = PASSWORD
    reason = "Signed the wrong version."

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.signoffs.services import signoff_withdraw

        return signoff_withdraw(**fields)


class PreferenceStudyFactory(ServiceFactory):
    """A study of uploaded pairs (three unless `pairs` is given)."""

    class Meta:
        model = PreferenceStudy

    organization = factory.SubFactory(OrganizationFactory)
    created_by = factory.LazyAttribute(lambda o: member(o.organization))
    name = factory.Sequence(lambda n: f"Study {n}")
    pairs = factory.LazyFunction(
        lambda: [
            {"id": f"p{i}", "prompt": f"Question {i}?", "answer_a": "Yes.", "answer_b": "No."}
            for i in range(3)
        ]
    )
    seed = 7

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.signoffs.services import preference_study_create

        return preference_study_create(**fields)


class PreferencePairFactory(factory.django.DjangoModelFactory):
    """One more pair of a study (studies make their own pairs; this adds one by hand)."""

    class Meta:
        model = PreferencePair

    study = factory.SubFactory(PreferenceStudyFactory)
    position = factory.LazyAttribute(lambda o: o.study.pairs.count())
    prompt = "Which dose?"
    answer_a = "5 mg."
    answer_b = "50 mg."
    a_on_left = True


class PreferenceJudgmentFactory(ServiceFactory):
    """A reviewer's judgment of the first pair of a new study: left preferred, all 4s."""

    class Meta:
        model = PreferenceJudgment

    pair = factory.LazyAttribute(lambda o: PreferenceStudyFactory().pairs.order_by("position")[0])
    reviewer = factory.LazyAttribute(
        lambda o: member(o.pair.study.organization, Role.CLINICAL_REVIEWER)
    )
    reviewer_role = Role.CLINICAL_REVIEWER
    choice = "left"
    ratings = factory.LazyFunction(
        lambda: {
            side: dict.fromkeys(("accuracy", "safety", "completeness", "empathy"), 4)
            for side in ("left", "right")
        }
    )

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.signoffs.services import preference_judgment_create

        return preference_judgment_create(**fields)


class PreferenceExportFactory(ServiceFactory):
    """The export of a study with one decisive judgment (a new dataset version)."""

    class Meta:
        model = PreferenceExport

    study = factory.LazyAttribute(lambda o: PreferenceJudgmentFactory().pair.study)
    user = factory.SelfAttribute("study.created_by")
    phi_status = "none"

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.signoffs.services import preference_study_export

        return preference_study_export(**fields)
