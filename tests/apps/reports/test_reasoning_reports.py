"""The reasoning-mode study on the platform: a suite asks for it, a succeeded run of it gets a
signed study report (the run's tiny model, the suite's knowledge items), refused otherwise."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from apps.evaluations import services
from apps.reports import signing
from apps.reports.models import ComparisonReport
from tests.builders.evaluations import finished_run, make_setup

pytestmark = pytest.mark.django_db
URL = "/api/v1/comparison-reports/reasoning/"
STUDY = {"items": 8, "reasoning_max_new_tokens": 12, "min_n": 5, "prices": {"cpu": 0.36}}


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from worker.engine.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-reasoning"))


def _suite(setup: Any, parameters: dict[str, Any], name: str) -> Any:
    dv = setup.datasets["knowledge"]
    return services.suite_create(
        organization=setup.org,
        name=name,
        checks=["knowledge"],
        datasets=[dv],
        dataset_checks={str(dv.pk): ["knowledge"]},
        parameters=parameters,
        thresholds={"knowledge": {"accuracy": {">=": 0.5}}},
        drift_tolerance={},
    )


def test_a_run_of_a_suite_asking_for_it_gets_a_signed_study(
    personas: Any,
    tiny_path: Path,
    tmp_path: Path,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    setup = make_setup(personas.org, tiny_path, tmp_path, checks=("knowledge",))
    suite = _suite(setup, {"reasoning_study": STUDY}, "Reasoning")
    run = finished_run(suite, setup.version, accuracy=0.5)
    client = client_for("compliance_officer")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"run": run.pk}, format="json")
    assert response.status_code == 202, response.json()
    report = ComparisonReport.objects.get(model_version=setup.version, kind="reasoning_study")
    study = report.document["body"]
    assert study["run"] == run.pk
    assert study["modes"]["direct"]["n"] == study["modes"]["reasoning"]["n"] == 8
    assert all(isinstance(r["reasoning"]["text"], str) for r in study["items"])
    costs = {c["mode"]: c for c in study["costs"]}
    assert costs["reasoning"]["price_per_hour"] == 0.36 and costs["reasoning"]["device"] == "cpu"
    assert "noise" in report.summary  # the random model's answers, said so
    pdf = client_for("auditor").get(f"/api/v1/comparison-reports/{report.pk}/files/pdf/")
    assert pdf.status_code == 200 and signing.check_pdf(pdf.content).intact
    verified = client.post(
        "/api/v1/model-cards/verify/", {"file": io.BytesIO(pdf.content)}, format="multipart"
    ).json()
    assert verified["issued"] and verified["report_kind"] == "reasoning_study"


def test_refused_when_the_suite_does_not_ask_and_bad_settings_are_refused(
    personas: Any, tiny_path: Path, tmp_path: Path, client_for: Any
) -> None:
    setup = make_setup(personas.org, tiny_path, tmp_path, checks=("knowledge",))
    run = finished_run(setup.suite, setup.version, accuracy=0.5)
    response = client_for("admin").post(URL, {"run": run.pk}, format="json")
    assert response.status_code == 400
    assert '"reasoning_study"' in response.json()["error"]["fields"]["run"][0]
    assert client_for("auditor").post(URL, {"run": run.pk}, format="json").status_code == 403
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="reasoning_study.prices"):
        _suite(setup, {"reasoning_study": {"prices": {"tpu": 1}}}, "Bad")
