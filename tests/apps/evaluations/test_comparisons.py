"""Paired version comparison through the API: like-for-like only, audited, tenant-scoped."""

from __future__ import annotations

from typing import Any

import pytest
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from apps.audit.models import AuditEvent
from apps.evaluations.models import ItemResult
from apps.registry.models import ModelVersionDataset
from tests.builders.evaluations import finished_run, quick_suite
from tests.factories import (
    AIModelFactory,
    DatasetVersionFactory,
    ModelVersionDatasetFactory,
    ModelVersionFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/version-comparisons/"


def _items(run: Any, spec: dict[str, list[bool]]) -> None:
    ItemResult.objects.bulk_create(
        ItemResult(
            run=run,
            shard_index=0,
            check_name="knowledge",
            item_id=f"{specialty}-{i}",
            language="en",
            group=specialty,
            correct=correct,
            chosen="A",
            gold=["A"],
            record={},
        )
        for specialty, outcomes in spec.items()
        for i, correct in enumerate(outcomes)
    )
    # Each item's option-prior twin is stored beside it; the comparison must ignore them.
    ItemResult.objects.bulk_create(
        ItemResult(
            run=run,
            shard_index=0,
            check_name="knowledge",
            item_id=f"{specialty}-{i}::prior",
            language="en",
            group=specialty,
            correct=not correct,
            chosen="A",
            gold=["A"],
            record={},
        )
        for specialty, outcomes in spec.items()
        for i, correct in enumerate(outcomes)
    )


@pytest.fixture
def versions(personas: Any) -> dict[str, Any]:
    """1.3 (SFT) and 1.4 (DPO): cardiology goes from 15/40 to 35/40, dermatology stays 32/40."""
    model = AIModelFactory(organization=personas.org)
    suite = quick_suite(personas.org)
    sft = ModelVersionFactory(
        model=model, version_label="1.3", alignment_techniques=["instruction_tuning"]
    )
    dpo = ModelVersionFactory(model=model, version_label="1.4", alignment_techniques=["rlhf_dpo"])
    prefs = DatasetVersionFactory(dataset__organization=personas.org)
    ModelVersionDatasetFactory(
        model_version=dpo, dataset_version=prefs, role=ModelVersionDataset.Role.PREFERENCE
    )
    cardiology_a = [True] * 15 + [False] * 25
    cardiology_b = [True] * 15 + [True] * 20 + [False] * 5
    dermatology_a = [False] * 4 + [True] * 4 + [True] * 32
    dermatology_b = [True] * 4 + [False] * 4 + [True] * 32
    run_a = finished_run(suite, sft, accuracy=0.5)
    _items(run_a, {"cardiology": cardiology_a, "dermatology": dermatology_a})
    run_b = finished_run(suite, dpo, accuracy=0.8)
    _items(run_b, {"cardiology": cardiology_b, "dermatology": dermatology_b})
    return {"suite": suite, "sft": sft, "dpo": dpo, "prefs": prefs, "model": model}


def _get(client: Any, suite: Any, *versions: Any) -> Any:
    ids = ",".join(str(v.pk) for v in versions)
    return client.get(URL, {"suite": suite.pk, "versions": ids})


@pytest.mark.parametrize("role", ["admin", "compliance_officer", "clinical_reviewer", "auditor"])
def test_reports_the_improved_specialty_for_every_role(client_for, versions, role):
    response = _get(client_for(role), versions["suite"], versions["sft"], versions["dpo"])
    assert response.status_code == 200, response.json()
    report = response.json()
    (comparison,) = report["comparisons"]
    rows = {(r["dimension"], r["group"]): r for r in comparison["rows"]}
    cardio = rows[("specialty", "cardiology")]
    derm = rows[("specialty", "dermatology")]
    assert cardio["decision"] == "improved"
    assert derm["decision"] == "no_significant_change"
    assert cardio["p_value"] == pytest.approx(
        sm_mcnemar([[15, 0], [20, 5]], exact=True).pvalue, rel=1e-9
    )
    assert cardio["difference"]["estimate"] == pytest.approx(0.5)
    assert comparison["newly_wrong"] == [f"knowledge/dermatology-{i}/en" for i in range(4, 8)]
    facts = {v["label"].split()[-1]: v for v in report["versions"]}
    assert facts["1.4"]["alignment_techniques"] == ["rlhf_dpo"]
    assert facts["1.4"]["training_datasets"][0]["role"] == "preference"
    assert report["generalisation"][0]["cells"][0]["specialty"] == "cardiology"


def test_producing_the_report_is_audited(client_for, versions, personas):
    before = AuditEvent.objects.filter(organization=personas.org).count()
    assert (
        _get(client_for("auditor"), versions["suite"], versions["sft"], versions["dpo"]).status_code
        == 200
    )
    event = AuditEvent.objects.filter(organization=personas.org).order_by("-seq").first()
    assert AuditEvent.objects.filter(organization=personas.org).count() == before + 1
    assert event.action == "download"
    assert event.object_type == "evaluations.versioncomparison"
    assert "1.3" in event.object_label and "1.4" in event.object_label


def test_refuses_versions_not_run_on_the_same_suite_version(client_for, versions, personas):
    other_suite = quick_suite(personas.org, name="Other")
    newer = ModelVersionFactory(model=versions["model"], version_label="1.5")
    finished_run(other_suite, newer, accuracy=0.9)
    response = _get(client_for("admin"), versions["suite"], versions["sft"], newer)
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["versions"][0]
    assert "has no succeeded run of" in message
    assert "different suite versions" in message


def test_refuses_a_single_version_and_bad_ids(client_for, versions):
    client = client_for("admin")
    assert (
        client.get(
            URL, {"suite": versions["suite"].pk, "versions": str(versions["sft"].pk)}
        ).status_code
        == 400
    )
    assert client.get(URL, {"suite": versions["suite"].pk, "versions": "1,x"}).status_code == 400
    assert client.get(URL, {"versions": "1,2"}).status_code == 400


def test_outsiders_cannot_compare_another_organisations_versions(client_for, versions):
    response = _get(client_for("outsider"), versions["suite"], versions["sft"], versions["dpo"])
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["versions"] == [
        f"No such suite: {versions['suite'].pk}."
    ]
