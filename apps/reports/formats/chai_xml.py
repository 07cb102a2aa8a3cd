"""CHAI Applied Model Card v0.2 XML, written from a chai-profile card document.

Element order follows the published XSD. A required element whose field is missing carries
the visible missing mark and where to fill it; optional elements are left out when empty.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from apps.reports.constants import CHECK_TITLES, MISSING_MARK
from apps.reports.profiles.chai_metrics import KEY_METRIC_CHECKS

NS = "https://mc.chai.org/v0.2/schema.xsd"
DSIG_URL = "http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd"

# (element, children) in XSD order; a trailing "?" marks minOccurs="0".
STRUCTURE: list[tuple[str, list[str]]] = [
    ("BasicInfo", ["ModelName", "ModelDeveloper", "DeveloperContact"]),
    (
        "ReleaseInfo",
        [
            "ReleaseStage",
            "ReleaseDate",
            "ReleaseVersion",
            "GlobalAvailability",
            "EHRCompatibility?",
            "RegulatoryApproval?",
        ],
    ),
    ("ModelSummary", ["Summary", "Keywords"]),
    (
        "UsesAndDirections",
        [
            "IntendedUseAndWorkflow",
            "PrimaryIntendedUsers",
            "HowToUse",
            "TargetedPatientPopulation",
            "CautionedOutOfScopeSettings",
        ],
    ),
    (
        "Warnings",
        ["KnownRisksAndLimitations", "KnownBiasesOrEthicalConsiderations", "ClinicalRiskLevel"],
    ),
]
AI_SYSTEM_FACTS = [
    "OutcomesAndOutputs",
    "ModelType",
    "FoundationModels?",
    "InputDataSource",
    "OutputAndInputDataTypes",
    "DevelopmentDataCharacterization",
    "BiasMitigationApproaches",
    "OngoingMaintenance",
    "Security?",
    "Transparency?",
]
TRANSPARENCY = ["FundingSource", "ThirdPartyInformation?", "StakeholdersConsulted"]
KEY_METRIC = [
    "MetricGoal",
    "Results",
    "Interpretation",
    "TestType",
    "TestingDataDescription",
    "ValidationProcessAndJustification",
]
RESOURCES = [
    "EvaluationReferences?",
    "ClinicalTrial?",
    "PeerReviewedPublications",
    "ReimbursementStatus?",
    "PatientConsentOrDisclosure",
]


def _fields(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["reference"]: f for s in document["sections"] for f in s["fields"]}


def missing_text(field: dict[str, Any] | None) -> str:
    hint = field["fill_hint"] if field else "this element has no field in the card"
    return f"{MISSING_MARK} {hint}"


def _leaf(parent: ET.Element, path: str, name: str, fields: dict[str, dict[str, Any]]) -> None:
    optional = name.endswith("?")
    name = name.rstrip("?")
    field = fields.get(f"{path}/{name}" if path else name)
    value = field["value"] if field else None
    if value is None and optional:
        return
    element = ET.SubElement(parent, f"{{{NS}}}{name}")
    if name in ("EHRCompatibility", "Keywords"):
        child = "EHR" if name == "EHRCompatibility" else "Keyword"
        for item in (value or "").split(", "):
            if item.strip():
                ET.SubElement(element, f"{{{NS}}}{child}").text = item.strip()
        return
    element.text = value if value is not None else missing_text(field)


def value_json(result: dict[str, Any]) -> dict[str, Any]:
    """CHAI ValueJson: the estimate with its interval, every number in one unit.

    CHAI's examples only show {"kind": "single"}; an interval is part of the result, so we
    write kind "estimate_ci" (estimate, lower, upper, level, unit) and "single" only where a
    metric has no interval. Proportions are given in percent, as CHAI's examples do.
    """
    scale, unit = (100.0, "%") if result["unit"] == "proportion" else (1.0, result["unit"] or "")

    def scaled(x: float | None) -> float | None:
        return None if x is None else round(scale * float(x), 4)

    low, high = result.get("ci_low"), result.get("ci_high")
    if low is None or high is None:
        return {"kind": "single", "value": scaled(result["value"]), "unit": unit}
    return {
        "kind": "estimate_ci",
        "estimate": scaled(result["value"]),
        "lower": scaled(low),
        "upper": scaled(high),
        "level": float(result.get("level") or 0.95),
        "unit": unit,
        "n": int(result.get("n") or 0),
    }


def _value_json(result: dict[str, Any]) -> str:
    return json.dumps(value_json(result), sort_keys=True)


def _results(parent: ET.Element, document: dict[str, Any], checks: tuple[str, ...]) -> None:
    results = ET.SubElement(parent, f"{{{NS}}}Results")
    rows = [
        r for r in document.get("results", []) if r["check"] in checks and r["value"] is not None
    ]
    for r in rows:
        item = ET.SubElement(results, f"{{{NS}}}MetricResult")
        group = f" [{r['group']}]" if r["group"] else ""
        ci = (
            f", 95% CI {r['ci_low']:.4g}–{r['ci_high']:.4g}"
            if r["ci_low"] is not None and r["ci_high"] is not None
            else ""
        )
        title = CHECK_TITLES.get(r["check"], r["check"])
        label = f"{title}: {r['metric']}{group} ({r['suite']}, n = {r['n']}{ci})"
        ET.SubElement(item, f"{{{NS}}}Label").text = label
        ET.SubElement(item, f"{{{NS}}}ValueJson").text = _value_json(r)
    if not rows:  # the XSD needs one MetricResult: say plainly that there is none yet
        item = ET.SubElement(results, f"{{{NS}}}MetricResult")
        checks_text = "/".join(checks)
        ET.SubElement(
            item, f"{{{NS}}}Label"
        ).text = f"{MISSING_MARK} Evaluations → run a suite with the {checks_text} check(s)"
        ET.SubElement(item, f"{{{NS}}}ValueJson").text = json.dumps({"kind": "missing"})


def render(document: dict[str, Any]) -> bytes:
    """The CHAI XML instance of a chai-profile card document."""
    if document["card"]["profile"] != "chai":
        raise ValueError("CHAI XML is emitted for chai-profile cards only.")
    fields = _fields(document)
    root = ET.Element(f"{{{NS}}}AppliedModelCard")
    for section, children in STRUCTURE:
        element = ET.SubElement(root, f"{{{NS}}}{section}")
        for child in children:
            _leaf(element, section, child, fields)
    trust = ET.SubElement(root, f"{{{NS}}}TrustIngredients")
    for section, children in (
        ("AISystemFacts", AI_SYSTEM_FACTS),
        ("TransparencyInformation", TRANSPARENCY),
    ):
        element = ET.SubElement(trust, f"{{{NS}}}{section}")
        for child in children:
            _leaf(element, f"TrustIngredients/{section}", child, fields)
    metrics = ET.SubElement(root, f"{{{NS}}}KeyMetrics")
    for name, checks in KEY_METRIC_CHECKS.items():
        element = ET.SubElement(metrics, f"{{{NS}}}{name}")
        for child in KEY_METRIC:
            if child == "Results":
                _results(element, document, checks)
            else:
                _leaf(element, f"KeyMetrics/{name}", child, fields)
    resources = ET.SubElement(root, f"{{{NS}}}Resources")
    for child in RESOURCES:
        _leaf(resources, "Resources", child, fields)
    _leaf(root, "", "Bibliography", fields)
    ET.indent(root, space="\t")
    body = ET.tostring(root, encoding="unicode", default_namespace=NS)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


CHAI_DIR = "chai-mc-schema-v0.2"


def standards_dir() -> Path:
    """Where CHAI's published schema lives: <repo>/../shared/standards/chai-mc-schema-v0.2.

    CAREALIGN_STANDARDS_DIR overrides it: the standards folder, or the CHAI folder itself.
    """
    from django.conf import settings

    override = os.environ.get("CAREALIGN_STANDARDS_DIR")
    if override:
        path = Path(override)
        return path if (path / "schema.xsd").is_file() else path / CHAI_DIR
    return Path(settings.BASE_DIR).parent / "shared" / "standards" / CHAI_DIR


def validator(schema_dir: Path | None = None) -> Any:
    """An xmlschema validator for CHAI's XSD, offline: xmldsig comes from xmlschema's copy."""
    import xmlschema

    schema_dir = schema_dir or standards_dir()
    dsig = Path(xmlschema.__file__).parent / "schemas" / "DSIG" / "xmldsig-core-schema.xsd"
    return xmlschema.XMLSchema(
        str(schema_dir / "schema.xsd"),
        uri_mapper={DSIG_URL: dsig.as_uri()},
        allow="local",
        defuse="always",
    )
