"""The shared benchmark workload: an 86M-parameter GPT-2-shaped model and MedQA-style items.

The model has GPT-2 small's body (12 layers, 768 wide, 12 heads) with random weights and the
tiny locally trained tokenizer (`worker.engine.tiny`), written as an ordinary
`save_pretrained` folder, so every tool under comparison loads it the same way. Items are
USMLE-style vignettes (about 80 words) with 5 options of a few words, built from a seed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

GPT2_86M = {"n_layer": 12, "n_embd": 768, "n_head": 12, "n_positions": 1024}

_AGES = range(18, 90)
_PLACES = ("emergency department", "clinic", "hospital", "physician", "office")
_SYMPTOMS = (
    "fever",
    "cough",
    "chest pain",
    "shortness of breath",
    "headache",
    "nausea",
    "vomiting",
    "abdominal pain",
    "dizziness",
    "fatigue",
    "weight loss",
    "joint pain",
    "a rash",
    "blurred vision",
    "palpitations",
)
_HISTORY = (
    "hypertension",
    "type 2 diabetes mellitus",
    "asthma",
    "chronic kidney disease",
    "atrial fibrillation",
    "migraine",
    "anemia",
    "depression",
    "hypothyroidism",
    "stroke",
)
_DRUGS = (
    "metformin",
    "lisinopril",
    "warfarin",
    "heparin",
    "insulin",
    "amoxicillin",
    "ibuprofen",
    "aspirin",
    "atorvastatin",
    "levothyroxine",
    "albuterol",
    "sertraline",
)
_FINDINGS = (
    "crackles at the lung bases",
    "a systolic murmur at the apex",
    "tenderness in the right lower quadrant",
    "pitting edema of both legs",
    "jugular venous distension",
    "a swollen and tender knee",
    "decreased breath sounds on the left",
)
_LABS = (
    "hemoglobin 9.8 g/dL",
    "leukocyte count 15,400/mm3",
    "creatinine 2.1 mg/dL",
    "glucose 245 mg/dL",
    "troponin I 0.9 ng/mL",
    "potassium 5.9 mEq/L",
    "sodium 128 mEq/L",
)
_ASKS = (
    "most likely diagnosis",
    "most appropriate next step in management",
    "most appropriate pharmacotherapy",
    "most likely underlying mechanism",
)
_ANSWERS = (
    "Anterior myocardial infarction",
    "Pulmonary embolism",
    "Community-acquired pneumonia",
    "Acute appendicitis",
    "Diabetic ketoacidosis",
    "Start intravenous heparin",
    "Obtain a CT scan of the chest",
    "Begin oral amoxicillin therapy",
    "Increase the dose of insulin",
    "Septic arthritis of the knee",
    "Heart failure with reduced ejection fraction",
    "Iron deficiency anemia",
    "Hyperkalemia due to kidney failure",
    "Reassurance and follow-up",
    "Dissection of the ascending aorta",
    "Migraine without aura",
)


def make_records(n: int, seed: int = 0, *, varied: bool = False) -> list[dict[str, Any]]:
    """`n` MedQA-style items in the engine's JSONL form (5 options, one gold letter).

    The options are drawn from 16 texts, so they recur across items far more than in real
    MedQA; `varied` adds one of 12 drugs at one of 5 doses to each (960 possible texts: 391
    of 100 items' 500 options distinct, 78 %; the fixtures' hallucination set has 77 %, the
    knowledge set 90 %).
    """
    rng = random.Random(seed)
    records = []
    for i in range(n):
        sex = rng.choice(("man", "woman"))
        who = "He" if sex == "man" else "She"
        symptoms = rng.sample(_SYMPTOMS, 3)
        history = rng.sample(_HISTORY, 2)
        drugs = rng.sample(_DRUGS, 1)
        question = (
            f"A {rng.choice(_AGES)}-year-old {sex} comes to the {rng.choice(_PLACES)} because "
            f"of {rng.randint(2, 14)} days of {symptoms[0]}, {symptoms[1]} and {symptoms[2]}. "
            f"{who} has a history of {history[0]} and {history[1]}, treated with "
            f"{drugs[0]}. Temperature is {rng.randint(365, 395) / 10}°C, pulse is "
            f"{rng.randint(60, 130)}/min, and blood pressure is {rng.randint(95, 175)}/"
            f"{rng.randint(55, 105)} mm Hg. Physical examination shows {rng.choice(_FINDINGS)}. "
            f"Laboratory studies show {rng.choice(_LABS)}. "
            f"Which of the following is the {rng.choice(_ASKS)}?"
        )
        answers = rng.sample(_ANSWERS, 5)
        if varied:
            answers = [
                f"{answer} with {rng.choice(_DRUGS)} {rng.choice((5, 10, 20, 40, 80))} mg"
                for answer in answers
            ]
        records.append(
            {
                "id": f"medqa-bench-{i}",
                "question": question,
                "options": dict(zip("ABCDE", answers, strict=True)),
                "gold": [rng.choice("ABCDE")],
                "specialty": "internal medicine",
            }
        )
    return records


def write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def ensure_model(folder: Path, shape: dict[str, int] | None = None, seed: int = 0) -> Path:
    """Write the benchmark model to `folder` once (random weights from `seed`)."""
    from worker.engine.tiny import make_tiny_model

    if not (folder / "config.json").is_file():
        make_tiny_model(folder, seed=seed, **(shape or GPT2_86M))
    return folder
