"""Controlled vocabularies of the registry."""

ALIGNMENT_TECHNIQUES = {
    "domain_pretraining": "Domain pretraining",
    "instruction_tuning": "Instruction tuning",
    "rlhf": "RLHF",
    "dpo": "DPO",
    "peft_lora": "PEFT/LoRA",
    "rag": "Retrieval-augmented generation (RAG)",
    "chain_of_thought": "Chain-of-thought prompting",
    "mixture_of_experts": "Mixture of experts",
}

# HTI-1 demographic variables, 45 CFR 170.315(b)(11)(iv)(B)(4)(ii).
HTI1_DEMOGRAPHIC_VARIABLES = {
    "race": "Race",
    "ethnicity": "Ethnicity",
    "language": "Language",
    "sexual_orientation": "Sexual orientation",
    "gender_identity": "Gender identity",
    "sex": "Sex",
    "date_of_birth_age": "Date of birth / age",
    "social_determinants": "Social determinants of health",
    "health_status": "Health status assessment",
}

HEX40 = r"^[0-9a-f]{40}$"
