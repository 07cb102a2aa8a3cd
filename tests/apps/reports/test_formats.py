"""Machine-readable formats: CHAI XML against CHAI's XSD, the HF README through
huggingface_hub, the JSON file; missing fields are visibly marked in every one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from huggingface_hub import ModelCard as HubModelCard
from huggingface_hub.repocard_data import model_index_to_eval_results

from apps.reports import selectors
from apps.reports.constants import MISSING_MARK
from apps.reports.formats import chai_xml, hf_readme, json_schema
from tests.apps.reports.test_document import SIGNATURE, build
from tests.builders.reports import World

pytestmark = pytest.mark.django_db


def test_published_chai_examples_validate_with_our_validator(chai_dir: Path) -> None:
    validator = chai_xml.validator(chai_dir)
    examples = sorted((chai_dir / "examples").glob("*.xml"))
    assert len(examples) == 3
    for example in examples:
        validator.validate(str(example))


def test_validator_rejects_a_card_without_basic_info(chai_dir: Path) -> None:
    example = (chai_dir / "examples" / "Penguin-Ai_PA-SLM.xml").read_text(encoding="utf-8")
    start, end = example.index("<BasicInfo>"), example.index("</BasicInfo>") + len("</BasicInfo>")
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        chai_xml.validator(chai_dir).validate(example[:start] + example[end:])


def test_chai_xml_of_a_complete_card_validates(
    world: World, chai_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "card_signatures", lambda *args, **kwargs: [SIGNATURE])
    document = build(world, "chai")
    assert document["completeness"]["complete"]
    xml = chai_xml.render(document)
    chai_xml.validator(chai_dir).validate(xml.decode("utf-8"))
    text = xml.decode("utf-8")
    assert MISSING_MARK not in text
    assert "<ModelName>Discharge Assistant</ModelName>" in text
    assert "<Keyword>discharge</Keyword>" in text
    assert '"estimate": 62.0, "kind": "estimate_ci", "level": 0.95' in text
    assert "Dr Jane Roe" in text  # StakeholdersConsulted from the sign-offs


def test_chai_xml_of_a_draft_validates_and_marks_missing_fields(
    world: World, chai_dir: Path
) -> None:
    document = build(world, "chai")
    text = chai_xml.render(document).decode("utf-8")
    chai_xml.validator(chai_dir).validate(text)
    assert f"<StakeholdersConsulted>{MISSING_MARK} Sign-offs" in text


def test_chai_xml_without_any_run_still_validates(personas: Any, chai_dir: Path) -> None:
    from tests.builders.reports import make_world

    world = make_world(personas.org)
    text = chai_xml.render(build(world, "chai")).decode("utf-8")
    chai_xml.validator(chai_dir).validate(text)
    assert '{"kind": "missing"}' in text


def test_chai_xml_is_only_for_the_chai_profile(world: World) -> None:
    with pytest.raises(ValueError, match="chai-profile"):
        chai_xml.render(build(world, "hti1"))


def _numbers(document: dict[str, Any]) -> set[tuple[str, str, str, float]]:
    return {
        (r["suite"], r["check"], hf_readme.metric_name(r), r["value"])
        for r in document["results"]
        if r["value"] is not None
    }


@pytest.mark.parametrize("profile", ["hti1", "payer"])
def test_hf_readme_model_index_reads_back_into_the_same_numbers(world: World, profile: str) -> None:
    document = build(world, profile)
    readme = hf_readme.render(document).decode("utf-8")
    card = HubModelCard(readme)
    model_name, results = model_index_to_eval_results(card.data.to_dict()["model-index"])
    assert model_name == "Discharge Assistant 2.1.0"
    parsed = {(r.dataset_name, r.dataset_config, r.metric_name, r.metric_value) for r in results}
    assert parsed == _numbers(document)
    assert len(card.data.eval_results) == len(results) > 20
    assert card.data.to_dict()["carealign"]["profile"] == profile


def test_hf_readme_marks_missing_fields(world: World) -> None:
    readme = hf_readme.render(build(world, "eu_ai_act")).decode("utf-8")
    assert f"**{MISSING_MARK} Sign-offs → the responsible persons sign" in readme
    assert "Draft with missing fields" in readme


def test_json_file_is_the_validated_document(world: World) -> None:
    document = build(world, "eu_ai_act")
    content = json_schema.render(document)
    assert json.loads(content) == document
    signed = next(
        f for s in document["sections"] for f in s["fields"] if f["id"] == "signed_test_reports"
    )
    assert signed["value"] is None and signed["missing"] is True


HOSTILE = (
    "<script>alert(1)</script>\n\n<iframe src=https://evil.example></iframe>\n\n"
    "[x](file:///etc/passwd) [y](javascript:alert(1)) ![i](https://evil.example/i.png)\n\n"
    "# Forged section\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n---\nkey: value"
)


def test_hf_readme_has_the_hub_metadata_keys_from_the_registry(world: World) -> None:
    from huggingface_hub import ModelCard as HubModelCard

    document = build(world, "chai")
    card = HubModelCard(hf_readme.render(document).decode("utf-8"))
    data = card.data.to_dict()
    assert data["license"] == "apache-2.0"
    assert data["pipeline_tag"] == "text-generation" and data["library_name"] == "transformers"
    assert "accuracy" in data["metrics"] and data["language"]
    assert data["base_model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert "Hub metadata not filled" not in card.text
    # A base model named in words (not a Hub id) and no licence: declared missing.
    world.version.base_model = "tiny GPT-2 (random weights, built locally)"
    world.version.save()
    from apps.reports.services import model_documentation_update

    model_documentation_update(model=world.model, values={"model_license": None})
    document = build(world, "chai")
    card = HubModelCard(hf_readme.render(document).decode("utf-8"))
    assert "base_model" not in card.data.to_dict() and "license" not in card.data.to_dict()
    assert {"base_model", "license"} <= set(document["hub"]["missing"])
    gaps = {(g["section"], g["field"]) for g in document["completeness"]["gaps"]}
    assert {("hub_metadata", "license"), ("hub_metadata", "base_model")} <= gaps
    assert "`license`, `base_model`" in card.text


def test_hf_readme_carries_every_interval_in_its_text(world: World) -> None:
    document = build(world, "payer")
    readme = hf_readme.render(document).decode("utf-8")
    for r in document["results"]:
        if r["ci_low"] is not None:
            assert f"{r['ci_low']:.4g}–{r['ci_high']:.4g}" in readme


def test_hf_readme_free_text_never_becomes_html_or_markdown_structure(world: World) -> None:
    from markdown_it import MarkdownIt

    from apps.reports.services import model_documentation_update

    model_documentation_update(model=world.model, values={"summary": HOSTILE})
    readme = hf_readme.render(build(world, "chai")).decode("utf-8")
    body = readme.split("\n---\n", 1)[1]
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(body)
    for bad in ("<script", "<iframe", "<img", 'href="file:', 'href="javascript:', "<h1>Forged"):
        assert bad not in html
    assert "<h2>Forged" not in html and "&lt;script&gt;" in html
    assert html.count("<h1>") == 1  # only the card's own title
    summary = html.split("Summary", 1)[1].split("<h4>", 1)[0]
    assert "<table>" not in summary and "<hr" not in summary
