"""Suites: validated when created, never edited, changed only by adding a version."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from apps.audit.models import AuditEvent
from apps.evaluations import services
from tests.builders.evaluations import quick_suite
from tests.factories import DatasetVersionFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def _create(org: Any, **fields: Any) -> Any:
    values = {
        "name": "Gate",
        "checks": ["knowledge"],
        "datasets": [DatasetVersionFactory(dataset__organization=org)],
        **fields,
    }
    return services.suite_create(organization=org, **values)


def test_a_new_version_copies_the_suite_with_the_change(personas: Any) -> None:
    suite = quick_suite(personas.org, parameters={"n_resamples": 100})
    v2 = services.suite_new_version(suite=suite, thresholds={"knowledge": {"ece": {"<=": 0.2}}})
    assert (v2.name, v2.version) == (suite.name, 2)
    assert v2.parameters == {"n_resamples": 100}
    assert list(v2.datasets.all()) == list(suite.datasets.all())
    suite.refresh_from_db()
    assert suite.thresholds == {"knowledge": {"accuracy": {">=": 0.5}}}
    assert services.suite_new_version(suite=suite, description="x").version == 3


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"checks": ["telepathy"]}, "unknown check"),
        ({"checks": []}, "Name at least one check"),
        ({"thresholds": {"knowledge": {"accuracy": {">": 1}}}}, "unknown operator '>'"),
        ({"thresholds": {"knowledge": {"speed": {">=": 1}}}}, "unknown metric 'speed'"),
        ({"thresholds": {"bias": {"flip_rate": {"<=": 0.1}}}}, "checks not in the suite: bias"),
        ({"drift_tolerance": {"*": -1}}, "to a number >= 0"),
        ({"dataset_checks": {"999999": ["knowledge"]}}, "not one of the suite's dataset versions"),
        ({"parameters": {"knowledge": {"mode": "telepathic"}}}, "unknown mode 'telepathic'"),
    ],
)
def test_a_suite_that_cannot_run_is_refused(
    personas: Any, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _create(personas.org, **fields)


def test_a_suite_cannot_use_another_organisations_data(personas: Any) -> None:
    foreign = DatasetVersionFactory(dataset__organization=OrganizationFactory())
    with pytest.raises(ValidationError, match="must belong to the suite's organisation"):
        _create(personas.org, datasets=[foreign])


def test_a_suite_and_its_datasets_are_audited(personas: Any) -> None:
    suite = quick_suite(personas.org)
    events = AuditEvent.objects.filter(
        object_type="evaluations.evaluationsuite", object_id=suite.pk
    )
    assert events.filter(action="create").exists()
    datasets = [e.changes["datasets"] for e in events if "datasets" in e.changes]
    assert datasets == [[[], [v.pk for v in suite.datasets.all()]]]


def test_a_suite_version_with_runs_is_kept(personas: Any) -> None:
    from tests.builders.evaluations import finished_run
    from tests.factories import AIModelFactory, ModelVersionFactory

    suite = quick_suite(personas.org)
    finished_run(
        suite, ModelVersionFactory(model=AIModelFactory(organization=personas.org)), accuracy=1
    )
    with pytest.raises(ValidationError, match="has runs or schedules"):
        services.suite_delete(suite=suite)
    unused = services.suite_new_version(suite=suite, description="draft")
    services.suite_delete(suite=unused)
