"""A tiny GPT-2 model with a locally trained tokenizer, for tests, demos and benchmarks.

Nothing is downloaded: the byte-level BPE tokenizer is trained on a small built-in
medical-ish corpus and the weights are random (fixed seed). The folder it writes is an
ordinary `save_pretrained` folder, loaded back through `loading.load_model` exactly like a
real model.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

PAD_TOKEN = "<|pad|>"
EOS_TOKEN = "<|endoftext|>"

# Kept deliberately simple: the role name on its own line, then the content.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

_SENTENCES = (
    "Question: A 45-year-old man presents with chest pain radiating to the left arm. "
    "What is the most likely diagnosis?",
    "Question: Which drug is first-line treatment for type 2 diabetes mellitus?",
    "Question: A 6-year-old girl has fever, sore throat and a sandpaper rash. "
    "Which organism is most likely responsible?",
    "Question: What is the mechanism of action of aspirin?",
    "Question: Which vitamin deficiency causes scurvy?",
    "Question: A pregnant woman at 32 weeks has blood pressure 160/110 mmHg and proteinuria.",
    "Context: The patient was admitted to the emergency department with shortness of breath.",
    "Context: Randomised controlled trials showed that statins reduce cardiovascular events.",
    "A. Myocardial infarction\nB. Pulmonary embolism\nC. Aortic dissection\nD. Pericarditis",
    "A. Metformin\nB. Insulin\nC. Sulfonylurea\nD. Acarbose\nE. None of the above",
    "A. Streptococcus pyogenes\nB. Staphylococcus aureus\nC. Measles virus\nD. I do not know",
    "Answer: A",
    "Answer: B",
    "Answer: C",
    "Answer: D",
    "Answer: E",
    "A student proposed answer C. The correct answer is B.",
    "A student proposed answer A. The correct answer is D.",
    "The correct answer is Myocardial infarction.",
    "None of the above. I do not know.",
    "Answer with the letter of the correct option.",
    "The patient is a 70-year-old woman with Medicare insurance and a history of hypertension.",
    "The patient is a 30-year-old Black man with Medicaid insurance and no medical history.",
    "The patient is a 52-year-old Hispanic woman, uninsured, who speaks Spanish.",
    "Symptoms include headache, nausea, vomiting, dizziness, fatigue and weight loss.",
    "Laboratory tests show elevated troponin, low hemoglobin and high creatinine.",
    "Treatment options include antibiotics, surgery, physiotherapy and watchful waiting.",
    "La paciente presenta fiebre y dolor abdominal. ¿Cuál es el diagnóstico?",
    "Le patient présente une douleur thoracique. Quel est le diagnostic le plus probable?",
    "患者出现胸痛和呼吸困难。最可能的诊断是什么？",
    "Пациент жалуется на боль в груди. Какой диагноз наиболее вероятен?",
)

_TERMS = (
    "diagnosis",
    "treatment",
    "patient",
    "clinical",
    "therapy",
    "infection",
    "pneumonia",
    "asthma",
    "diabetes",
    "hypertension",
    "appendicitis",
    "anemia",
    "sepsis",
    "stroke",
    "fracture",
    "migraine",
    "antibiotic",
    "amoxicillin",
    "ibuprofen",
    "warfarin",
    "heparin",
    "insulin",
    "metformin",
    "lisinopril",
    "dose",
    "kidney",
    "liver",
    "heart",
    "lung",
    "brain",
    "blood",
    "pressure",
    "temperature",
    "symptom",
    "examination",
    "history",
    "emergency",
    "hospital",
    "nurse",
    "physician",
)

_FRAMES = (
    "The {a} was associated with {b}.",
    "Which {a} is most appropriate for {b}?",
    "Question: What is the best {a} for {b}? Answer:",
    "A patient with {a} and {b} should receive {a} first.",
)


def training_corpus() -> list[str]:
    """Return the built-in corpus the tiny tokenizer is trained on."""
    lines = list(_SENTENCES)
    for frame, (a, b) in zip(
        itertools.cycle(_FRAMES), itertools.permutations(_TERMS, 2), strict=False
    ):
        lines.append(frame.format(a=a, b=b))
    return lines


def train_tokenizer(vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer and wrap it as a `PreTrainedTokenizerFast`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=[EOS_TOKEN, PAD_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(training_corpus(), trainer=trainer)
    # transformers leaves this constructor unannotated.
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=backend,
        eos_token=EOS_TOKEN,
        bos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=EOS_TOKEN,
        model_max_length=512,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def make_tiny_model(
    directory: str | Path,
    *,
    seed: int = 0,
    n_layer: int = 2,
    n_embd: int = 64,
    n_head: int = 4,
    n_positions: int = 512,
    vocab_size: int = 1024,
) -> Path:
    """Write a tiny GPT-2 (random weights, fixed seed) and its tokenizer to `directory`."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(vocab_size)
    eos_id = tokenizer.eos_token_id
    pad_id = tokenizer.pad_token_id
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        # A wider initialisation than GPT-2's 0.02 so the random model has clear preferences.
        initializer_range=0.1,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    model.generation_config.pad_token_id = pad_id
    model.generation_config.eos_token_id = eos_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
