"""The card document: each profile's required fields, completeness, live numbers, queries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.evaluations.models import Schedule
from apps.reports import selectors
from apps.reports.document import document_build
from apps.reports.formats import json_schema
from apps.reports.models import CardProfile, ModelCard
from apps.reports.profiles import PROFILES
from apps.reports.selectors import card_context_load
from apps.reports.services import model_documentation_update
from tests.builders.reports import World, make_world

pytestmark = pytest.mark.django_db
SAMPLE = Path(__file__).parent / "sample_card.json"
# The card_signatures contract (apps.reports.selectors, implemented by the sign-off module).
SIGNATURE = {
    "signer_name": "Dr Jane Roe",
    "signer_role": "clinical_reviewer",
    "meaning": "approved",
    "stage": "validation",
    "signed_at": "2026-11-03T16:02:11Z",
    "record_digest": "ab" * 32,
    "current": True,
    "comment": "Evaluation run 42 reviewed",
}


def build(world: World, profile: str, status: str = "draft") -> dict[str, Any]:
    card = ModelCard(model=world.model, model_version=world.version, profile=profile, version=1)
    ctx = card_context_load(model_version_id=world.version.pk)
    return document_build(card=card, ctx=ctx, status=status)


def fields(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{s['id']}.{f['id']}": f for s in document["sections"] for f in s["fields"]}


def missing(document: dict[str, Any]) -> set[str]:
    return {f"{m['section']}.{m['field']}" for m in document["completeness"]["missing"]}


def test_the_committed_sample_document_is_valid() -> None:
    json_schema.validate(json.loads(SAMPLE.read_text(encoding="utf-8")))


def test_schema_rejects_a_document_without_its_sections() -> None:
    document = json.loads(SAMPLE.read_text(encoding="utf-8"))
    del document["sections"]
    with pytest.raises(ValueError, match="sections"):
        json_schema.validate(document)


@pytest.mark.parametrize("profile", CardProfile.values)
def test_document_of_every_profile_validates_against_the_schema(world: World, profile: str) -> None:
    document = build(world, profile)
    json_schema.validate(document)
    assert document["card"]["profile"] == profile
    assert document["signatures"] == []
    assert document["audit"]["event_count"] > 0  # documentation edits were audited
    assert len(document["audit"]["chain_head_hash"]) == 64


def test_hti1_has_all_31_source_attributes_in_9_groups(world: World) -> None:
    document = build(world, "hti1")
    assert len(document["sections"]) == 9
    ids = [f["id"] for s in document["sections"] for f in s["fields"]]
    assert ids == [f"attr_{n:02d}" for n in range(1, 32)]
    assert all(f["required"] for s in document["sections"] for f in s["fields"])


def test_hti1_is_complete_with_registry_runs_schedules_and_documentation(world: World) -> None:
    document = build(world, "hti1")
    assert document["completeness"]["complete"], document["completeness"]["missing"]
    values = {k.split(".")[1]: f["value"] for k, f in fields(document).items()}
    assert "accuracy 0.620 (95% CI 0.550–0.690, n = 180)" in values["attr_21"]
    assert "accuracy_gap_max 0.070" in values["attr_22"]
    assert values["attr_23"].startswith("Not assessed: no external site")
    assert "weekly on Monday at 03:00" in values["attr_26"]
    assert "0 run(s) in the last 90 days" in values["attr_26"]  # none started by the schedule
    assert "1 drift alert(s)" in values["attr_31"]
    assert "Sex: female 52%, male 48%" in values["attr_13"]


def test_hti1_numbers_are_computed_live_from_the_latest_run(world: World) -> None:
    before = fields(build(world, "hti1"))["quantitative_measures.attr_21"]["value"]
    run = world.run()
    check = run.check_results.get(check_name="knowledge")
    check.metrics[0]["value"] = 0.71
    check.save()
    after = fields(build(world, "hti1"))["quantitative_measures.attr_21"]["value"]
    assert "accuracy 0.620" in before
    assert "accuracy 0.710" in after and f"run {run.pk}" in after


def test_hti1_monitoring_is_missing_without_an_enabled_schedule(world: World) -> None:
    Schedule.objects.update(enabled=False)
    document = build(world, "hti1")
    assert {"ongoing_maintenance.attr_26", "ongoing_maintenance.attr_28"} <= missing(document)


def test_unclassified_evaluation_data_leaves_same_source_validity_missing(world: World) -> None:
    model_documentation_update(model=world.model, values={"evaluation_data_origin": None})
    document = build(world, "hti1")
    assert "quantitative_measures.attr_21" in missing(document)
    hint = fields(document)["quantitative_measures.attr_21"]["fill_hint"]
    assert "evaluation_data_origin" in hint and "same_source" in hint


def test_external_runs_fill_external_validity(world: World) -> None:
    model_documentation_update(
        model=world.model, values={"evaluation_data_origin": {"Core safety": "external"}}
    )
    values = fields(build(world, "hti1"))
    assert "accuracy 0.620" in values["quantitative_measures.attr_23"]["value"]
    assert values["quantitative_measures.attr_21"]["missing"]


def test_an_undocumented_model_lists_every_missing_field_with_where_to_fill_it(
    personas: Any,
) -> None:
    world = make_world(personas.org, documented=False)
    world.run()
    document = build(world, "hti1")
    gaps = {m["field"]: m for m in document["completeness"]["missing"]}
    assert not document["completeness"]["complete"]
    assert "funding_source" in gaps["attr_02"]["fill_hint"]
    assert "/api/v1/model-documentation/" in gaps["attr_02"]["fill_hint"]
    assert "attr_05" not in gaps  # intended use comes from the registry
    assert document["completeness"]["present_count"] + len(gaps) == 31
    for field in fields(document).values():
        assert field["missing"] == (field["value"] is None)


def test_registry_fields_are_named_by_their_registry_place(personas: Any) -> None:
    world = make_world(personas.org)
    world.model.out_of_scope_uses = ""
    world.model.save()
    world.run()
    document = build(world, "chai")
    gap = next(
        m for m in document["completeness"]["missing"] if m["field"] == "cautioned_out_of_scope"
    )
    assert gap["fill_hint"].startswith("Registry → model → out_of_scope_uses")


def test_signature_fields_are_missing_where_a_profile_requires_them(world: World) -> None:
    assert "transparency_information.stakeholders_consulted" in missing(build(world, "chai"))
    assert missing(build(world, "eu_ai_act")) == {"development.signed_test_reports"}
    assert build(world, "hti1")["completeness"]["complete"]
    assert build(world, "payer")["completeness"]["complete"]


def test_sign_offs_fill_the_signature_fields_without_a_redesign(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "card_signatures", lambda *args, **kwargs: [SIGNATURE])
    chai = build(world, "chai")
    eu = build(world, "eu_ai_act")
    json_schema.validate(eu)
    assert chai["completeness"]["complete"], chai["completeness"]["missing"]
    assert eu["completeness"]["complete"]
    assert "Dr Jane Roe" in fields(eu)["development.signed_test_reports"]["value"]
    assert eu["signatures"] == [SIGNATURE]


def test_stale_signatures_do_not_count_as_signed_test_reports(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        selectors, "card_signatures", lambda *args, **kwargs: [{**SIGNATURE, "current": False}]
    )
    assert "development.signed_test_reports" in missing(build(world, "eu_ai_act"))


def test_eu_ai_act_has_its_nine_points_and_article_12(world: World) -> None:
    document = build(world, "eu_ai_act")
    references = [s["reference"] for s in document["sections"]]
    assert references == [f"Annex IV point {n}" for n in range(1, 10)] + ["Art. 12"]
    # Art. 12 asks about the AI system's own logs; the platform's audit trail is separate.
    logging = fields(document)["record_keeping.logging"]
    assert logging["value"].startswith("Every request, answer, source passage")
    assert logging["source"] == "documentation"
    records = fields(document)["record_keeping.provider_records"]["value"]
    assert document["audit"]["chain_head_hash"] in records


def test_chai_key_metrics_come_from_their_checks(world: World) -> None:
    document = build(world, "chai")
    tables = {t["id"]: t for s in document["sections"] for t in s["tables"]}
    assert {row[1] for row in tables["usefulness_results"]["rows"]} == {"Medical knowledge"}
    assert {row[1] for row in tables["fairness_results"]["rows"]} == {
        "Counterfactual demographic bias",
        "Multilingual quality",
    }
    assert {row[1] for row in tables["safety_results"]["rows"]} == {"Hallucination"}


def test_payer_summary_splits_results_by_insurance_and_computes_cost(world: World) -> None:
    document = build(world, "payer")
    values = fields(document)
    assert "- Medicaid: accuracy" in values["results.results_by_insurance"]["value"]
    charts = {c["id"]: c for s in document["sections"] for c in s["charts"]}
    assert [p["label"] for p in charts["accuracy_by_insurance"]["series"]] == [
        "Commercial",
        "Medicaid",
        "Medicare",
    ]
    # Latest run: 400 items, 100 GPU-s and 120 CPU-s -> per 1,000 uses 250 GPU-s (0.0694 h)
    # and 300 CPU-s (0.0833 h); at $2.50 (documentation) and $0.05 (default) per hour:
    # 0.069444 * 2.5 + 0.083333 * 0.05 = $0.1778.
    cost = values["cost.cost_per_1000"]["value"]
    assert cost.startswith("**$0.1778 per 1,000 uses** (USD).")
    assert "0.0694 GPU-hours and 0.0833 CPU-hours" in cost
    assert "$2.50 per GPU-hour (this model's documentation)" in cost
    assert "$0.05 per CPU-hour (the deployment's default price)" in cost


def test_payer_results_by_insurance_are_missing_without_insurance_vignettes(
    world: World,
) -> None:
    for check in world.runs[-1].check_results.filter(check_name="bias"):
        check.metrics = [m for m in check.metrics if "insurance" not in (m["group"] or "")]
        check.save()
    document = build(world, "payer")
    assert missing(document) == {"results.results_by_insurance"}


def test_every_profile_declares_a_source_and_fill_hint_for_each_field() -> None:
    for profile in PROFILES.values():
        for section, field in profile.required_fields():
            assert field.fill_hint, (profile.key, section.id, field.id)


def _queries(world: World) -> int:
    with CaptureQueriesContext(connection) as queries:
        for profile in CardProfile.values:
            build(world, profile)
    return len(queries)


def test_building_uses_a_constant_number_of_queries(personas: Any) -> None:
    small = make_world(personas.org)
    small.run(items=3)
    few = _queries(small)

    large = make_world(personas.other_org)
    for days in range(5):
        large.run(extra_groups=40, items=200, days_ago=days)
    for n in range(3):
        large.suite.pk = None  # more suites, each with its latest run
        large.suite.name = f"Suite {n}"
        large.suite.save()
        large.run(extra_groups=40, items=50)
    assert _queries(large) == few


def test_building_one_card_takes_few_queries(
    world: World, django_assert_max_num_queries: Any
) -> None:
    # 15: one of them loads the comparison reports the card cites (profiles/citations.py).
    with django_assert_max_num_queries(15):
        build(world, "hti1")
