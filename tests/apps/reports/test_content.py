"""What the cards say: citations, Art. 12, CHAI elements, ValueJson, paths, contradictions,
text limits and bidi controls."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from apps.registry.models import ModelVersion
from apps.reports.formats import chai_xml, hf_readme, json_schema
from apps.reports.profiles.hti1 import citation
from apps.reports.services import model_documentation_update
from tests.apps.reports.test_document import build, fields
from tests.builders.reports import World

pytestmark = pytest.mark.django_db

LOCAL_PATH = "/srv/carealign/var/models/demo-tiny-gpt2"


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        (1, "(B)(1)(i)"),
        (4, "(B)(1)(iv)"),
        (12, "(B)(4)(ii)"),
        (21, "(B)(7)(i)"),
        (25, "(B)(7)(v)"),
        (26, "(B)(8)(i)"),
        (31, "(B)(9)(ii)"),
    ],
)
def test_hti1_attributes_cite_paragraphs_that_exist(attribute: int, expected: str) -> None:
    assert citation(attribute) == f"§ 170.315(b)(11)(iv){expected}"


def test_hti1_card_cites_no_paragraph_beyond_the_rule(world: World) -> None:
    document = build(world, "hti1")
    refs = [f["reference"] for s in document["sections"] for f in s["fields"]]
    assert len(refs) == 31
    for ref in refs:
        paragraph, item = re.fullmatch(
            r"§ 170\.315\(b\)\(11\)\(iv\)\(B\)\((\d)\)\((\w+)\)", ref
        ).groups()  # type: ignore[union-attr]
        assert 1 <= int(paragraph) <= 9 and item in ("i", "ii", "iii", "iv", "v")
    label = fields(document)["ongoing_maintenance.attr_26"]["label"]
    assert not label.startswith("Update and continued validation")


def test_art_12_is_a_gap_without_the_systems_own_logging(world: World) -> None:
    model_documentation_update(model=world.model, values={"operational_logging": None})
    document = build(world, "eu_ai_act")
    assert {"section": "record_keeping", "field": "logging"}.items() <= next(
        m for m in document["completeness"]["missing"] if m["field"] == "logging"
    ).items()
    # The platform's audit trail is still shown, as the provider's own record-keeping.
    assert fields(document)["record_keeping.provider_records"]["value"]


def test_chai_security_reuses_the_cybersecurity_text_and_optional_gaps_are_listed(
    world: World,
) -> None:
    document = build(world, "chai")
    security = fields(document)["ai_system_facts.security"]["value"]
    assert security == "Network isolation, token auth, audit trail."
    gaps = {g["field"] for g in document["completeness"]["gaps"]}
    assert {"third_party_information", "transparency", "ehr_compatibility"} <= gaps
    model_documentation_update(
        model=world.model,
        values={
            "regulatory_approval": "None required: non-device CDS under 21 U.S.C. 360j(o)(1)(E).",
            "reimbursement_status": "Not separately reimbursed.",
            "ehr_compatibility": ["Epic", "Oracle Health"],
            "third_party_information": "Base model licensed from Example AI.",
            "transparency": "Model card published to all users.",
        },
    )
    xml = chai_xml.render(build(world, "chai")).decode()
    for element in (
        "RegulatoryApproval",
        "ReimbursementStatus",
        "ThirdPartyInformation",
        "Transparency",
        "Security",
    ):
        assert f"<{element}>" in xml
    assert "<EHR>Oracle Health</EHR>" in xml


def test_value_json_is_estimate_with_interval_in_one_unit(world: World, chai_dir: Path) -> None:
    document = build(world, "chai")
    xml = chai_xml.render(document)
    chai_xml.validator(chai_dir).validate(xml.decode())
    values = [json.loads(v) for v in re.findall(r"<ValueJson>(.*?)</ValueJson>", xml.decode())]
    assert values
    for value in values:
        if value["kind"] == "estimate_ci":
            assert set(value) == {"kind", "estimate", "lower", "upper", "level", "unit", "n"}
            assert value["lower"] <= value["estimate"] <= value["upper"]
            assert value["level"] == 0.95
    accuracy = next(r for r in document["results"] if r["metric"] == "accuracy" and not r["group"])
    assert chai_xml.value_json(accuracy) == {
        "kind": "estimate_ci",
        "estimate": round(100 * accuracy["value"], 4),
        "lower": round(100 * accuracy["ci_low"], 4),
        "upper": round(100 * accuracy["ci_high"], 4),
        "level": 0.95,
        "unit": "%",
        "n": accuracy["n"],
    }


@pytest.mark.parametrize("profile", ["chai", "hti1", "eu_ai_act", "payer"])
def test_a_local_model_is_named_never_by_its_server_path(world: World, profile: str) -> None:
    ModelVersion.objects.filter(pk=world.version.pk).update(
        source_kind="local", hub_id="", revision="", local_path=LOCAL_PATH, weights_digest="ab" * 32
    )
    world.version.refresh_from_db()
    for run in world.runs:
        run.manifest = {**run.manifest, "model": {"source": LOCAL_PATH, "path": LOCAL_PATH}}
        run.save(update_fields=["manifest"])
    document = build(world, profile)
    json_schema.validate(document)
    outputs = [json.dumps(document, ensure_ascii=False), hf_readme.render(document).decode()]
    if profile == "chai":
        outputs.append(chai_xml.render(document).decode())
    for text in outputs:
        assert "/srv/carealign" not in text and "demo-tiny-gpt2" not in text
    expected = f"local model Discharge Assistant {world.version.version_label} (weights sha256 "
    assert document["model_version"]["source"].startswith(expected)


def _contradictions(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in document["completeness"]["contradictions"]}


def test_contradictions_block_the_card_until_explained(world: World) -> None:
    ModelVersion.objects.filter(pk=world.version.pk).update(alignment_techniques=["dpo", "rag"])
    model_documentation_update(
        model=world.model,
        values={
            "evaluation_data_origin": {world.suite.name: "same_source"},
            "consistency_explanations": None,
            "input_data_source": "Typed questions only",
            "model_type": "Generative LLM",
            "design_specifications": None,
            "system_architecture": "One decoder-only model behind an API gateway.",
        },
    )
    world.version.refresh_from_db()
    found = _contradictions(build(world, "hti1"))
    assert set(found) >= {"demographic-inputs", "alignment-dpo", "alignment-rag"}
    assert "insurance" in found["demographic-inputs"]["message"]
    document = build(world, "hti1")
    assert not document["completeness"]["complete"]
    model_documentation_update(
        model=world.model,
        values={"consistency_explanations": {cid: "Explained." for cid in found}},
    )
    document = build(world, "hti1")
    assert all(c["explained"] for c in document["completeness"]["contradictions"])
    assert document["completeness"]["complete"]


def test_bidi_controls_are_removed_at_input_and_never_reach_a_card(world: World) -> None:
    doc = model_documentation_update(
        model=world.model, values={"funding_source": "Grant \u202etnaverp\u202c from \u2066X\u2069"}
    )
    assert doc.values["funding_source"] == "Grant tnaverp from X"
    world.model.name = "Discharge \u202eAssistant"
    world.model.save()
    text = json.dumps(build(world, "hti1"), ensure_ascii=False)
    assert not re.search("[\u202a-\u202e\u2066-\u2069\u200e\u200f]", text)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"summary": "x" * 20_001}, "At most 20,000 characters"),
        ({"developer_contact": "x" * 501}, "At most 500 characters"),
        ({"keywords": ["k"] * 101}, "At most 100 entries"),
        ({"keywords": ["k" * 201]}, "Each entry at most 200 characters"),
        ({"consistency_explanations": {"x": "y" * 2001}}, "Each value at most 2,000"),
    ],
)
def test_documentation_text_has_documented_limits(
    world: World, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        model_documentation_update(model=world.model, values=values)


def test_payer_summary_has_what_a_payer_decides_on(world: World) -> None:
    document = build(world, "payer")
    assert document["completeness"]["complete"], document["completeness"]["missing"]
    values = {k: v["value"] for k, v in fields(document).items()}
    decision = values["decision.decision"]
    assert "overall PASS" in decision and "Medical knowledge: **PASS**" in decision
    assert "(95% CI" in decision  # each headline carries its reason
    assert values["use.population_and_users"].startswith("Population: ")
    assert "May state wrong doses" in values["use.limitations"]
    validation = values["status.validation_status"]
    assert "Internal (test data from the training source): done — Core safety v3 on " in validation
    assert "External: Not assessed: no external site" in validation
    assert "Regulatory status: Not a device" in values["status.regulatory_status"]
    assert "Reimbursement status: Not separately reimbursed" in values["status.regulatory_status"]
    assert values["status.phi_handling"].startswith("PHI stays in the hospital network")
    assert "Weekly re-evaluation and quarterly review." in values["monitoring.monitoring"]
    table = next(
        t for s in document["sections"] for t in s["tables"] if t["id"] == "results_by_insurance"
    )
    commercial = next(r for r in table["rows"] if r[0] == "accuracy" and r[1] == "Commercial")
    assert commercial[3] != "—" and int(commercial[4]) > 0  # an interval and its n


def test_payer_summary_says_when_commercial_insurance_was_not_evaluated(world: World) -> None:
    for check in world.runs[-1].check_results.filter(check_name="bias"):
        check.metrics = [m for m in check.metrics if m["group"] != "insurance=Commercial"]
        check.save()
    value = fields(build(world, "payer"))["results.results_by_insurance"]["value"]
    assert "Commercial insurance: not evaluated" in value


@pytest.mark.parametrize(
    ("verdict", "n", "shown"),
    [
        ("pass", 180, "— **pass** (>= 0.6)"),
        ("fail", 180, "— **FAIL** (>= 0.6)"),
        ("inconclusive", 180, "— *inconclusive — the interval spans the threshold* (>= 0.6)"),
        ("insufficient_data", 12, "n = 12; fewer than 30 items) — *insufficient data"),
    ],
)
def test_verdict_states_read_differently_and_small_n_carries_a_caveat(
    verdict: str, n: int, shown: str
) -> None:
    from apps.reports.profiles.metrics import describe

    row = {
        "metric": "accuracy",
        "value": 0.62,
        "ci_low": 0.55,
        "ci_high": 0.69,
        "n": n,
        "unit": "proportion",
        "verdict": verdict,
        "threshold": ">= 0.6",
    }
    assert shown in describe(row)
