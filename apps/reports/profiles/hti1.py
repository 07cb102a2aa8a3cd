"""ONC HTI-1 predictive DSI source attributes, 45 CFR 170.315(b)(11)(iv)(B): 31 in 9 groups.

Attributes 21-24 and 26-31 are numbers and schedules: they are computed from the runs,
schedules, drift alerts and version history when the card is rendered, never typed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.reports.profiles import data, figures, hints, lifecycle, metrics, prose
from apps.reports.profiles.base import FieldSpec, Profile, SectionSpec

if TYPE_CHECKING:
    from apps.reports.context import CardContext

REF = "45 CFR 170.315(b)(11)(iv)(B)"


def _origin_hint(checks: str, origin: str, statement: str | None = None) -> str:
    hint = (
        f"Evaluations → run a suite with the {checks} checks on this version, and classify it "
        f"as {origin} in " + hints.documentation("evaluation_data_origin")
    )
    return hint + (
        f"; or state why none exists in {hints.documentation(statement)}" if statement else ""
    )


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


def _attribute(n: int, label: str, source: str, hint: str, value: Any) -> FieldSpec:
    return FieldSpec(f"attr_{n:02d}", label, citation(n), source, hint, value)


def _documented(n: int, label: str, key: str) -> FieldSpec:
    return _attribute(
        n, label, "documentation", hints.documentation(key), lambda ctx: prose.documented(ctx, key)
    )


def _developer(ctx: CardContext) -> str | None:
    contact = prose.documented(ctx, "developer_contact")
    return f"{ctx.organization.name} — {contact}" if contact else None


def _output_type(ctx: CardContext) -> str | None:
    kind = prose.documented(ctx, "output_type")
    return prose.join(
        kind.capitalize() if kind else None, prose.documented(ctx, "model_type"), sep=". "
    )


def _origin_perf(checks: tuple[str, ...], origin: str, statement: str | None) -> Any:
    def value(ctx: CardContext) -> str | None:
        found = metrics.performance(ctx, checks, origin)
        if found is None and statement:
            return metrics.not_performed(ctx, statement)
        return found

    return value


def _external_demographics(ctx: CardContext) -> str | None:
    found = data.demographics(data.origin_datasets(ctx, "external"), None)
    return found or metrics.not_performed(ctx, "external_validation_not_performed")


def _external_doc(key: str) -> Any:
    return lambda ctx: (
        prose.documented(ctx, key)
        or metrics.not_performed(ctx, "external_validation_not_performed")
    )


def _monitoring(checks: tuple[str, ...]) -> Any:
    def value(ctx: CardContext) -> str | None:
        return lifecycle.monitoring(ctx, checks)

    return value


def _update(ctx: CardContext) -> str | None:
    process = prose.documented(ctx, "update_process")
    return prose.join(process, lifecycle.version_history(ctx)) if process else None


def _correction(ctx: CardContext) -> str | None:
    process = prose.documented(ctx, "correction_process")
    if not process:
        return None
    return prose.join(process, lifecycle.drift(ctx) or "No drift monitoring is scheduled.")


def _extras_quantitative(ctx: CardContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    table = metrics.table(
        ctx,
        metrics.VALIDITY_CHECKS + metrics.FAIRNESS_CHECKS,
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
            lifecycle.describe_cron(s.cron),
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
                _attribute(
                    1,
                    "Name and contact information of the intervention developer",
                    "documentation",
                    hints.documentation("developer_contact"),
                    _developer,
                ),
                _documented(
                    2,
                    "Funding source of the intervention's technical implementation",
                    "funding_source",
                ),
                _documented(
                    3,
                    "Description of the value that the intervention produces as an output",
                    "outcomes_and_outputs",
                ),
                _attribute(
                    4,
                    "Whether the output is a prediction, classification, recommendation, "
                    "evaluation, analysis or other",
                    "documentation",
                    hints.documentation("output_type"),
                    _output_type,
                ),
            ),
        ),
        SectionSpec(
            "purpose",
            "2. Purpose of the intervention",
            f"{REF}(2)",
            (
                _attribute(
                    5,
                    "Intended use of the intervention",
                    "registry",
                    hints.model("intended_use"),
                    lambda ctx: prose.text(ctx.model.intended_use),
                ),
                _attribute(
                    6,
                    "Intended patient population(s)",
                    "registry",
                    hints.model("target_population"),
                    lambda ctx: prose.text(ctx.model.target_population),
                ),
                _attribute(
                    7,
                    "Intended user(s)",
                    "registry",
                    hints.model("intended_users"),
                    lambda ctx: prose.text(ctx.model.intended_users),
                ),
                _attribute(
                    8,
                    "Intended decision-making role for which the intervention was designed",
                    "registry",
                    hints.model("decision_role"),
                    lambda ctx: ctx.model.get_decision_role_display(),
                ),
            ),
        ),
        SectionSpec(
            "out_of_scope",
            "3. Cautioned out-of-scope use of the intervention",
            f"{REF}(3)",
            (
                _attribute(
                    9,
                    "Tasks, situations or populations where a user is cautioned against "
                    "applying the intervention",
                    "registry",
                    hints.model("out_of_scope_uses"),
                    lambda ctx: prose.text(ctx.model.out_of_scope_uses),
                ),
                _documented(
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
                _attribute(
                    11,
                    "Exclusion and inclusion criteria that influenced the training data set",
                    "registry",
                    "Registry → dataset version → inclusion/exclusion criteria of the "
                    "training datasets, or " + hints.documentation("training_data_criteria"),
                    data.training_criteria,
                ),
                _attribute(
                    12,
                    "Use of variables (race, ethnicity, language, sexual orientation, gender "
                    "identity, sex, date of birth, SDOH, health status) as input features",
                    "documentation",
                    hints.documentation("demographic_input_features"),
                    data.demographic_features,
                ),
                _attribute(
                    13,
                    "Description of demographic representativeness according to those variables",
                    "registry",
                    "Registry → dataset version → demographics of the training datasets, or "
                    + hints.documentation("training_demographics_statement"),
                    data.training_demographics,
                ),
                _documented(
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
                _documented(15, "Approach to ensure that the output is fair", "fairness_approach"),
                _documented(
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
                _attribute(
                    17,
                    "Description of the data source, clinical setting or environment where "
                    "validity and fairness were assessed, other than the source of training and "
                    "testing data",
                    "documentation",
                    hints.documentation("external_validation_setting"),
                    _external_doc("external_validation_setting"),
                ),
                _attribute(
                    18,
                    "Party that conducted the external testing",
                    "documentation",
                    hints.documentation("external_validation_party"),
                    _external_doc("external_validation_party"),
                ),
                _attribute(
                    19,
                    "Description of demographic representativeness of the external data",
                    "registry",
                    "Registry → dataset version → demographics of the datasets of "
                    "suites classified as external",
                    _external_demographics,
                ),
                _attribute(
                    20,
                    "Description of the external validation process",
                    "documentation",
                    hints.documentation("external_validation_process"),
                    _external_doc("external_validation_process"),
                ),
            ),
        ),
        SectionSpec(
            "quantitative_measures",
            "7. Quantitative measures of performance",
            f"{REF}(7)",
            (
                _attribute(
                    21,
                    "Validity of the intervention in test data derived from the same source "
                    "as the initial training data",
                    "evaluation",
                    _origin_hint(V, "same_source"),
                    _origin_perf(metrics.VALIDITY_CHECKS, "same_source", None),
                ),
                _attribute(
                    22,
                    "Fairness of the intervention in test data derived from the same source "
                    "as the initial training data",
                    "evaluation",
                    _origin_hint(F, "same_source"),
                    _origin_perf(metrics.FAIRNESS_CHECKS, "same_source", None),
                ),
                _attribute(
                    23,
                    "Validity of the intervention in data external to or from a different "
                    "source than the initial training data",
                    "evaluation",
                    _origin_hint(V, "external", "external_validation_not_performed"),
                    _origin_perf(
                        metrics.VALIDITY_CHECKS, "external", "external_validation_not_performed"
                    ),
                ),
                _attribute(
                    24,
                    "Fairness of the intervention in data external to or from a different "
                    "source than the initial training data",
                    "evaluation",
                    _origin_hint(F, "external", "external_validation_not_performed"),
                    _origin_perf(
                        metrics.FAIRNESS_CHECKS, "external", "external_validation_not_performed"
                    ),
                ),
                _documented(
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
                _attribute(
                    26,
                    "Process and frequency by which the intervention's validity is monitored "
                    "over time",
                    "schedule",
                    "Evaluations → schedules: schedule a suite with the knowledge/hallucination "
                    "checks for this model",
                    _monitoring(metrics.VALIDITY_CHECKS),
                ),
                _attribute(
                    27,
                    "Validity of the intervention in local data",
                    "evaluation",
                    _origin_hint(V, "local", "local_validation_not_performed"),
                    _origin_perf(
                        metrics.VALIDITY_CHECKS, "local", "local_validation_not_performed"
                    ),
                ),
                _attribute(
                    28,
                    "Process and frequency by which fairness is monitored",
                    "schedule",
                    "Evaluations → schedules: schedule a suite with the bias/multilingual "
                    "checks for this model",
                    _monitoring(metrics.FAIRNESS_CHECKS),
                ),
                _attribute(
                    29,
                    "Fairness of the intervention in local data",
                    "evaluation",
                    _origin_hint(F, "local", "local_validation_not_performed"),
                    _origin_perf(
                        metrics.FAIRNESS_CHECKS, "local", "local_validation_not_performed"
                    ),
                ),
            ),
            _extras_schedules,
        ),
        SectionSpec(
            "update_schedule",
            "9. Update and continued validation or fairness assessment schedule",
            f"{REF}(9)",
            (
                _attribute(
                    30,
                    "Process and frequency by which the intervention is updated",
                    "documentation",
                    hints.documentation("update_process")
                    + " (version history is added from the registry)",
                    _update,
                ),
                _attribute(
                    31,
                    "Frequency by which the intervention's performance is corrected when "
                    "risks related to validity and fairness are identified",
                    "documentation",
                    hints.documentation("correction_process") + " (drift alerts are added from the "
                    "evaluations)",
                    _correction,
                ),
            ),
        ),
    ),
)
