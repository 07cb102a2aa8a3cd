"""ONC HTI-1 predictive DSI source attributes, 45 CFR 170.315(b)(11)(iv)(B): 31 in 9 groups.

Attributes 21-24 and 26-31 are numbers and schedules: they are computed from the runs,
schedules, drift alerts and version history when the card is rendered, never typed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.reports.profiles import common as c
from apps.reports.profiles import figures
from apps.reports.profiles.base import FieldSpec, Profile, SectionSpec

if TYPE_CHECKING:
    from apps.reports.document import CardContext

REF = "45 CFR 170.315(b)(11)(iv)(B)"


def _origin_hint(checks: str, origin: str, statement: str | None = None) -> str:
    hint = (
        f"Evaluations → run a suite with the {checks} checks on this version, and classify it "
        f"as {origin} in " + c.h_doc("evaluation_data_origin")
    )
    return hint + (f"; or state why none exists in {c.h_doc(statement)}" if statement else "")


# The 31 source attributes are numbered here in reading order; the rule itself has nine
# paragraphs (B)(1)-(9), each with roman-numbered items. Attribute n -> (paragraph, item).
GROUP_SIZES = (4, 4, 2, 4, 2, 4, 5, 4, 2)
ROMAN = ("i", "ii", "iii", "iv", "v")


def citation(n: int) -> str:
    """'§ 170.315(b)(11)(iv)(B)(7)(i)' for attribute 21: the paragraph that exists."""
    if not 1 <= n <= sum(GROUP_SIZES):
        raise ValueError(f"HTI-1 has 31 predictive DSI source attributes, not {n}")
    rest = n
    for paragraph, size in enumerate(GROUP_SIZES, start=1):
        if rest <= size:
            return f"§ 170.315(b)(11)(iv)(B)({paragraph})({ROMAN[rest - 1]})"
        rest -= size
    raise AssertionError("unreachable")


def _a(n: int, label: str, source: str, hint: str, value: Any) -> FieldSpec:
    return FieldSpec(f"attr_{n:02d}", label, citation(n), source, hint, value)


def _d(n: int, label: str, key: str) -> FieldSpec:
    return _a(n, label, "documentation", c.h_doc(key), lambda x: c.doc(x, key))


def _developer(ctx: CardContext) -> str | None:
    contact = c.doc(ctx, "developer_contact")
    return f"{ctx.organization.name} — {contact}" if contact else None


def _output_type(ctx: CardContext) -> str | None:
    kind = c.doc(ctx, "output_type")
    return c.join(kind.capitalize() if kind else None, c.doc(ctx, "model_type"), sep=". ")


def _origin_perf(checks: tuple[str, ...], origin: str, statement: str | None) -> Any:
    def value(ctx: CardContext) -> str | None:
        found = c.performance(ctx, checks, origin)
        if found is None and statement:
            return c.not_performed(ctx, statement)
        return found

    return value


def _external_demographics(ctx: CardContext) -> str | None:
    found = c.demographics(c.origin_datasets(ctx, "external"), None)
    return found or c.not_performed(ctx, "external_validation_not_performed")


def _external_doc(key: str) -> Any:
    return lambda x: c.doc(x, key) or c.not_performed(x, "external_validation_not_performed")


def _monitoring(checks: tuple[str, ...]) -> Any:
    def value(ctx: CardContext) -> str | None:
        return c.monitoring(ctx, checks)

    return value


def _update(ctx: CardContext) -> str | None:
    process = c.doc(ctx, "update_process")
    return c.join(process, c.version_history(ctx)) if process else None


def _correction(ctx: CardContext) -> str | None:
    process = c.doc(ctx, "correction_process")
    if not process:
        return None
    return c.join(process, c.drift(ctx) or "No drift monitoring is scheduled.")


def _extras_quantitative(ctx: CardContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    table = c.metrics_table(
        ctx,
        c.VALIDITY_CHECKS + c.FAIRNESS_CHECKS,
        table_id="hti1_measures",
        title="Validity and fairness measures of the latest runs",
    )
    charts = [
        figures.standard_chart(ctx, "accuracy_by_specialty"),
        figures.standard_chart(ctx, "accuracy_gap_by_attribute"),
        figures.history_chart(ctx),
    ]
    return ([table] if table else []), [ch for ch in charts if ch]


def _extras_schedules(ctx: CardContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if not ctx.schedules:
        return [], []
    rows = [
        [
            s.name,
            f"{s.suite.name} v{s.suite.version}",
            s.cron,
            c.describe_cron(s.cron),
            s.cron_timezone,
            s.get_target_display(),
            "yes" if s.enabled else "no",
        ]
        for s in ctx.schedules
    ]
    table = {
        "id": "schedules",
        "title": "Evaluation schedules",
        "columns": ["Schedule", "Suite", "Cron", "Frequency", "Timezone", "Target", "Enabled"],
        "rows": rows,
    }
    return [table], []


V = "knowledge/hallucination"
F = "bias/multilingual"

PROFILE = Profile(
    key="hti1",
    title="ONC HTI-1 predictive DSI source attributes",
    reference=REF,
    sections=(
        SectionSpec(
            "details_and_output",
            "1. Details and output of the intervention",
            f"{REF}(1)",
            (
                _a(
                    1,
                    "Name and contact information of the intervention developer",
                    "documentation",
                    c.h_doc("developer_contact"),
                    _developer,
                ),
                _d(
                    2,
                    "Funding source of the intervention's technical implementation",
                    "funding_source",
                ),
                _d(
                    3,
                    "Description of the value that the intervention produces as an output",
                    "outcomes_and_outputs",
                ),
                _a(
                    4,
                    "Whether the output is a prediction, classification, recommendation, "
                    "evaluation, analysis or other",
                    "documentation",
                    c.h_doc("output_type"),
                    _output_type,
                ),
            ),
        ),
        SectionSpec(
            "purpose",
            "2. Purpose of the intervention",
            f"{REF}(2)",
            (
                _a(
                    5,
                    "Intended use of the intervention",
                    "registry",
                    c.h_model("intended_use"),
                    lambda x: c.text(x.model.intended_use),
                ),
                _a(
                    6,
                    "Intended patient population(s)",
                    "registry",
                    c.h_model("target_population"),
                    lambda x: c.text(x.model.target_population),
                ),
                _a(
                    7,
                    "Intended user(s)",
                    "registry",
                    c.h_model("intended_users"),
                    lambda x: c.text(x.model.intended_users),
                ),
                _a(
                    8,
                    "Intended decision-making role for which the intervention was designed",
                    "registry",
                    c.h_model("decision_role"),
                    lambda x: x.model.get_decision_role_display(),
                ),
            ),
        ),
        SectionSpec(
            "out_of_scope",
            "3. Cautioned out-of-scope use of the intervention",
            f"{REF}(3)",
            (
                _a(
                    9,
                    "Tasks, situations or populations where a user is cautioned against "
                    "applying the intervention",
                    "registry",
                    c.h_model("out_of_scope_uses"),
                    lambda x: c.text(x.model.out_of_scope_uses),
                ),
                _d(
                    10,
                    "Known risks, inappropriate settings, inappropriate uses, or known limitations",
                    "known_risks_and_limitations",
                ),
            ),
        ),
        SectionSpec(
            "development",
            "4. Intervention development details and input features",
            f"{REF}(4)",
            (
                _a(
                    11,
                    "Exclusion and inclusion criteria that influenced the training data set",
                    "registry",
                    "Registry → dataset version → inclusion/exclusion criteria of the "
                    "training datasets, or " + c.h_doc("training_data_criteria"),
                    c.training_criteria,
                ),
                _a(
                    12,
                    "Use of variables (race, ethnicity, language, sexual orientation, gender "
                    "identity, sex, date of birth, SDOH, health status) as input features",
                    "documentation",
                    c.h_doc("demographic_input_features"),
                    c.demographic_features,
                ),
                _a(
                    13,
                    "Description of demographic representativeness according to those variables",
                    "registry",
                    "Registry → dataset version → demographics of the training datasets, or "
                    + c.h_doc("training_demographics_statement"),
                    c.training_demographics,
                ),
                _d(
                    14,
                    "Description of relevance of training data to the intended deployed setting",
                    "training_data_relevance",
                ),
            ),
        ),
        SectionSpec(
            "fairness_development",
            "5. Process used to ensure fairness in development of the intervention",
            f"{REF}(5)",
            (
                _d(15, "Approach to ensure that the output is fair", "fairness_approach"),
                _d(
                    16,
                    "Approaches to manage, reduce or eliminate bias",
                    "bias_mitigation_approaches",
                ),
            ),
        ),
        SectionSpec(
            "external_validation",
            "6. External validation process",
            f"{REF}(6)",
            (
                _a(
                    17,
                    "Description of the data source, clinical setting or environment where "
                    "validity and fairness were assessed, other than the source of training and "
                    "testing data",
                    "documentation",
                    c.h_doc("external_validation_setting"),
                    _external_doc("external_validation_setting"),
                ),
                _a(
                    18,
                    "Party that conducted the external testing",
                    "documentation",
                    c.h_doc("external_validation_party"),
                    _external_doc("external_validation_party"),
                ),
                _a(
                    19,
                    "Description of demographic representativeness of the external data",
                    "registry",
                    "Registry → dataset version → demographics of the datasets of "
                    "suites classified as external",
                    _external_demographics,
                ),
                _a(
                    20,
                    "Description of the external validation process",
                    "documentation",
                    c.h_doc("external_validation_process"),
                    _external_doc("external_validation_process"),
                ),
            ),
        ),
        SectionSpec(
            "quantitative_measures",
            "7. Quantitative measures of performance",
            f"{REF}(7)",
            (
                _a(
                    21,
                    "Validity of the intervention in test data derived from the same source "
                    "as the initial training data",
                    "evaluation",
                    _origin_hint(V, "same_source"),
                    _origin_perf(c.VALIDITY_CHECKS, "same_source", None),
                ),
                _a(
                    22,
                    "Fairness of the intervention in test data derived from the same source "
                    "as the initial training data",
                    "evaluation",
                    _origin_hint(F, "same_source"),
                    _origin_perf(c.FAIRNESS_CHECKS, "same_source", None),
                ),
                _a(
                    23,
                    "Validity of the intervention in data external to or from a different "
                    "source than the initial training data",
                    "evaluation",
                    _origin_hint(V, "external", "external_validation_not_performed"),
                    _origin_perf(
                        c.VALIDITY_CHECKS, "external", "external_validation_not_performed"
                    ),
                ),
                _a(
                    24,
                    "Fairness of the intervention in data external to or from a different "
                    "source than the initial training data",
                    "evaluation",
                    _origin_hint(F, "external", "external_validation_not_performed"),
                    _origin_perf(
                        c.FAIRNESS_CHECKS, "external", "external_validation_not_performed"
                    ),
                ),
                _d(
                    25,
                    "References to evaluation of use of the intervention on outcomes",
                    "outcome_evaluation_references",
                ),
            ),
            _extras_quantitative,
        ),
        SectionSpec(
            "ongoing_maintenance",
            "8. Ongoing maintenance of intervention implementation and use",
            f"{REF}(8)",
            (
                _a(
                    26,
                    "Process and frequency by which the intervention's validity is monitored "
                    "over time",
                    "schedule",
                    "Evaluations → schedules: schedule a suite with the knowledge/hallucination "
                    "checks for this model",
                    _monitoring(c.VALIDITY_CHECKS),
                ),
                _a(
                    27,
                    "Validity of the intervention in local data",
                    "evaluation",
                    _origin_hint(V, "local", "local_validation_not_performed"),
                    _origin_perf(c.VALIDITY_CHECKS, "local", "local_validation_not_performed"),
                ),
                _a(
                    28,
                    "Process and frequency by which fairness is monitored",
                    "schedule",
                    "Evaluations → schedules: schedule a suite with the bias/multilingual "
                    "checks for this model",
                    _monitoring(c.FAIRNESS_CHECKS),
                ),
                _a(
                    29,
                    "Fairness of the intervention in local data",
                    "evaluation",
                    _origin_hint(F, "local", "local_validation_not_performed"),
                    _origin_perf(c.FAIRNESS_CHECKS, "local", "local_validation_not_performed"),
                ),
            ),
            _extras_schedules,
        ),
        SectionSpec(
            "update_schedule",
            "9. Update and continued validation or fairness assessment schedule",
            f"{REF}(9)",
            (
                _a(
                    30,
                    "Process and frequency by which the intervention is updated",
                    "documentation",
                    c.h_doc("update_process") + " (version history is added from the registry)",
                    _update,
                ),
                _a(
                    31,
                    "Frequency by which the intervention's performance is corrected when "
                    "risks related to validity and fairness are identified",
                    "documentation",
                    c.h_doc("correction_process") + " (drift alerts are added from the "
                    "evaluations)",
                    _correction,
                ),
            ),
        ),
    ),
)
