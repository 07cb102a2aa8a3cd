"""Vocabularies of model cards: documentation fields, data origins, file formats, limits."""

from __future__ import annotations

from pathlib import Path

SCHEMA_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "model-card-1.0.json"
CARD_MEDIA_DIR = "cards"  # under MEDIA_ROOT: cards/<sha256[:2]>/<sha256>.<ext>
VERIFY_MAX_BYTES = 25 * 1024 * 1024  # a card PDF is a few hundred KiB; refuse anything huge
HISTORY_RUNS = 12  # runs shown in the accuracy-over-time chart
DRIFT_WINDOW_DAYS = 90
MISSING_MARK = "MISSING — fill in:"
# A declared gap: the organisation states why something does not exist (printed distinctly).
GAP_PREFIX = "Not assessed: "

# format -> (file extension, MIME type)
FORMATS = {
    "pdf": ("pdf", "application/pdf"),
    "json": ("json", "application/json"),
    "xml": ("xml", "application/xml"),
    "md": ("md", "text/markdown; charset=utf-8"),
}

# Where an evaluation suite's data comes from, relative to the training data (HTI-1 21-29).
DATA_ORIGINS = {
    "same_source": "Test data from the same source as the training data",
    "external": "External data (another source, setting or population)",
    "local": "Local data (the deploying organisation's own data)",
}

# HTI-1 (B)(4): what kind of output the intervention produces.
OUTPUT_TYPES = ("prediction", "classification", "recommendation", "evaluation", "analysis", "other")

CHECK_TITLES = {
    "knowledge": "Medical knowledge",
    "hallucination": "Hallucination",
    "bias": "Counterfactual demographic bias",
    "multilingual": "Multilingual quality",
}

# Documentation a profile may need that the registry does not hold: key -> (label, help).
# Kept in one place so the API, the completeness hints and the demo agree on the names.
DOCUMENTATION_FIELDS: dict[str, tuple[str, str]] = {
    "developer_contact": ("Developer contact", "E-mail address or URL of the developer."),
    "funding_source": ("Funding source", "Who funded the technical implementation."),
    "global_availability": ("Global availability", "Where the model is available."),
    "regulatory_approval": ("Regulatory approval", "Clearances or approvals, if any."),
    "ehr_compatibility": ("EHR compatibility", "List of EHR systems it works with."),
    "summary": ("Summary", "A short plain-language summary of the model."),
    "keywords": ("Keywords", "List of keywords."),
    "how_to_use": ("How to use", "Instructions for use for the deployer and the users."),
    "known_risks_and_limitations": ("Known risks and limitations", ""),
    "known_biases_or_ethical_considerations": ("Known biases or ethical considerations", ""),
    "outcomes_and_outputs": ("Outcomes and outputs", "What value the output produces."),
    "output_type": ("Output type", "One of: " + ", ".join(OUTPUT_TYPES) + "."),
    "model_type": ("Model type", "E.g. generative decoder-only LLM."),
    "input_data_source": ("Input data source", "Where inputs come from at run time."),
    "output_and_input_data_types": ("Output and input data types", ""),
    "demographic_input_features": (
        "Demographic input features",
        "List of HTI-1 demographic variables used as input features ([] for none).",
    ),
    "training_data_description": (
        "Training data description",
        "Used when the training datasets are not registered (e.g. a third-party base model).",
    ),
    "training_data_criteria": (
        "Training data inclusion and exclusion criteria",
        "Used when the registered training datasets do not state them.",
    ),
    "training_demographics_statement": (
        "Training data demographic representativeness",
        "Used when the registered training datasets carry no demographic counts.",
    ),
    "training_data_relevance": ("Relevance of training data to the deployed setting", ""),
    "fairness_approach": ("Approach to ensure fair output", ""),
    "bias_mitigation_approaches": ("Bias mitigation approaches", ""),
    "third_party_information": ("Third-party information", ""),
    "stakeholders_consulted": (
        "Stakeholders consulted (besides sign-offs)",
        "Who was consulted outside CareAlign's sign-offs (patients' groups, payers...).",
    ),
    "security": ("Security", ""),
    "transparency": ("Transparency", ""),
    "evaluation_data_origin": (
        "Evaluation data origin",
        "Object: suite name -> same_source | external | local.",
    ),
    "external_validation_setting": ("External validation data source and setting", ""),
    "external_validation_party": ("Party that conducted external validation", ""),
    "external_validation_process": ("External validation process", ""),
    "external_validation_not_performed": (
        "Why no external validation exists",
        "Stated on the card when no suite is classified as external.",
    ),
    "local_validation_not_performed": (
        "Why no local validation exists",
        "Stated on the card when no suite is classified as local.",
    ),
    "outcome_evaluation_references": ("References to evaluations of outcomes", ""),
    "clinical_trial": ("Clinical trial", ""),
    "peer_reviewed_publications": ("Peer-reviewed publications", "'None' is an answer."),
    "reimbursement_status": ("Reimbursement status", ""),
    "patient_consent_or_disclosure": ("Patient consent or disclosure", ""),
    "bibliography": ("Bibliography (BibTeX)", "BibTeX entries; CHAI requires the element."),
    "update_process": ("Process and frequency of updating the model", ""),
    "correction_process": ("How performance is corrected when risks are found", ""),
    "system_interactions": ("Interaction with other hardware, software and AI systems", ""),
    "forms_placed_on_market": ("Forms in which the system is placed on the market", ""),
    "hardware_requirements": ("Hardware the system runs on", ""),
    "product_markings": ("Product photographs or markings", "Only if part of a product."),
    "user_interface": ("User interface provided to the deployer", ""),
    "design_specifications": ("Design specifications and key design choices", ""),
    "system_architecture": ("System architecture", ""),
    "human_oversight_measures": ("Human oversight measures", "Art. 14 measures."),
    "predetermined_changes": ("Pre-determined changes", ""),
    "cybersecurity_measures": ("Cybersecurity measures", ""),
    "metrics_appropriateness": ("Appropriateness of the performance metrics", ""),
    "risk_management_system": ("Risk management system (Art. 9)", ""),
    "harmonised_standards": ("Harmonised standards applied", ""),
    "declaration_of_conformity": ("EU declaration of conformity", "Art. 47 declaration text."),
    "post_market_monitoring_plan": ("Post-market monitoring plan (Art. 72)", ""),
    "operational_logging": (
        "The AI system's own logging in operation (Art. 12)",
        "What the deployed system records automatically over its lifetime: events that may "
        "present a risk or a substantial modification, data for post-market monitoring, and "
        "what the deployer needs to monitor operation (Art. 12(2)(a)-(c)); retention.",
    ),
    "phi_handling": (
        "Handling of protected health information",
        "What PHI the system receives at run time, where it is processed and kept, and how.",
    ),
    "payer_intended_use": ("Intended use in payer operations", ""),
    "model_license": (
        "Model licence (Hugging Face licence id)",
        "E.g. apache-2.0, mit, llama3, other; written to the README's `license` key.",
    ),
    "gpu_hour_cost_usd": ("Price of one GPU-hour (USD)", "A number; used for the cost figure."),
    "cpu_hour_cost_usd": ("Price of one CPU-hour (USD)", "A number; used for the cost figure."),
    "consistency_explanations": (
        "Explanations of flagged contradictions",
        "Object: contradiction id (from the completeness report) -> why it is not one.",
    ),
}
LIST_DOCUMENTATION_FIELDS = frozenset(
    {"ehr_compatibility", "keywords", "demographic_input_features"}
)
OBJECT_DOCUMENTATION_FIELDS = frozenset({"evaluation_data_origin"})
TEXT_MAP_DOCUMENTATION_FIELDS = frozenset({"consistency_explanations"})
NUMBER_DOCUMENTATION_FIELDS = frozenset({"gpu_hour_cost_usd", "cpu_hour_cost_usd"})

# Free-text limits of documentation fields (characters): a card is read, not a file store.
# A 1 MiB field made a 356-page, 47.5 s render; 20,000 characters is about eight pages.
DOCUMENTATION_TEXT_MAX_CHARS = 20_000
DOCUMENTATION_MAX_CHARS = {
    "developer_contact": 500,
    "model_license": 100,
    "funding_source": 2_000,
    "global_availability": 2_000,
    "output_type": 40,
    "model_type": 500,
    "bibliography": 50_000,
}
DOCUMENTATION_MAX_ITEMS = 100  # list fields (keywords, EHRs) and the origin mapping
DOCUMENTATION_ITEM_MAX_CHARS = 200  # a keyword, an EHR, a suite name or a contradiction id
DOCUMENTATION_EXPLANATION_MAX_CHARS = 2_000  # a value of an object field (an explanation)
