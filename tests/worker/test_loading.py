"""Model loading: local folders and pinned hub ids, never remote code, once per process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
import transformers

from worker.engine.loading import (
    LoadedModel,
    ModelLoadError,
    ModelSpec,
    load_model,
    pick_device_and_dtype,
    weights_digest,
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_tiny_model_loads_back_like_a_real_model(tiny: LoadedModel, tiny_model_dir: Path) -> None:
    assert type(tiny.model).__name__ == "GPT2LMHeadModel"
    assert not tiny.model.training
    assert (tiny.device, tiny.dtype) == ("cpu", "float32")
    assert tiny.model.dtype == torch.float32
    assert 1000 <= len(tiny.tokenizer) <= 2000
    assert tiny.tokenizer.pad_token_id is not None
    assert tiny.tokenizer.eos_token_id is not None
    assert tiny.tokenizer.chat_template
    assert tiny.weights_digest == weights_digest(tiny_model_dir)
    assert len(tiny.weights_digest) == 64


def test_load_model_reuses_the_model_in_the_same_process(
    tiny: LoadedModel, tiny_model_dir: Path
) -> None:
    assert load_model(ModelSpec(str(tiny_model_dir))) is tiny
    assert load_model(ModelSpec(str(tiny_model_dir) + "/")) is tiny


def test_hub_id_must_be_pinned_to_a_commit() -> None:
    with pytest.raises(ModelLoadError, match="40-hex"):
        ModelSpec("org/model")
    with pytest.raises(ModelLoadError, match="40-hex"):
        ModelSpec("org/model", revision="main")
    assert ModelSpec("org/model", revision=COMMIT).revision == COMMIT


def test_missing_local_folder_is_refused_before_loading(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        ModelSpec(str(tmp_path / "nope"))


def test_folder_without_a_model_gives_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="cannot load model"):
        load_model(ModelSpec(str(tmp_path)))


def test_offline_hub_id_fails_without_network() -> None:
    with pytest.raises(ModelLoadError, match="cannot load model"):
        load_model(ModelSpec("carealign/not-cached", revision=COMMIT))


def test_device_and_dtype_follow_the_machine_unless_overridden() -> None:
    if not torch.cuda.is_available():
        assert pick_device_and_dtype(ModelSpec(".")) == ("cpu", "float32")
    assert pick_device_and_dtype(ModelSpec(".", device="cpu", dtype="bf16")) == ("cpu", "bfloat16")
    with pytest.raises(ModelLoadError, match="dtype"):
        ModelSpec(".", dtype="float8")


def _with_custom_code(src: Path, dst: Path, model_type: str) -> Path:
    shutil.copytree(src, dst)
    marker = dst / "EXECUTED"
    code = f"open({str(marker)!r}, 'w').write('custom code ran')\n"
    for module in ("configuration_evil.py", "modeling_evil.py", "tokenization_evil.py"):
        (dst / module).write_text(code + "class Evil: pass\n")
    config = json.loads((dst / "config.json").read_text())
    config["model_type"] = model_type
    config["auto_map"] = {
        "AutoConfig": "configuration_evil.Evil",
        "AutoModelForCausalLM": "modeling_evil.Evil",
    }
    (dst / "config.json").write_text(json.dumps(config))
    tok_config = json.loads((dst / "tokenizer_config.json").read_text())
    tok_config["auto_map"] = {"AutoTokenizer": ["tokenization_evil.Evil", None]}
    (dst / "tokenizer_config.json").write_text(json.dumps(tok_config))
    return marker


def test_custom_code_in_a_model_folder_is_never_executed(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []
    for cls in (transformers.AutoModelForCausalLM, transformers.AutoTokenizer):
        original = cls.from_pretrained

        def spy(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            seen.append(kwargs.get("trust_remote_code", "missing"))
            return _original(*args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", spy)

    # An architecture transformers does not know: only the custom code could load it.
    unknown = _with_custom_code(tiny_model_dir, tmp_path / "unknown", "evil")
    with pytest.raises(ModelLoadError):
        load_model(ModelSpec(str(tmp_path / "unknown")))
    assert not unknown.exists()

    # A known architecture that also ships custom code: the built-in class is used.
    known = _with_custom_code(tiny_model_dir, tmp_path / "known", "gpt2")
    loaded = load_model(ModelSpec(str(tmp_path / "known")))
    assert type(loaded.model).__name__ == "GPT2LMHeadModel"
    assert not known.exists()
    assert seen and all(value is False for value in seen)


def test_weights_digest_covers_weights_not_readme(tiny_model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    before = weights_digest(copy)
    (copy / "README.md").write_text("notes")
    assert weights_digest(copy) == before
    with (copy / "model.safetensors").open("r+b") as handle:
        handle.seek(-1, 2)
        last = handle.read(1)
        handle.seek(-1, 2)
        handle.write(bytes([last[0] ^ 1]))
    assert weights_digest(copy) != before


def test_python_tanh_gelu_is_swapped_for_the_fused_kernel_with_the_same_values(
    tiny: LoadedModel, tiny_model_dir: Path
) -> None:
    from transformers.activations import NewGELUActivation

    kinds = {type(module).__name__ for module in tiny.model.modules()}
    assert "NewGELUActivation" not in kinds and "GELUTanh" in kinds
    # The same weights as shipped, with GPT-2's own Python activation.
    plain = transformers.AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    assert any(isinstance(m, NewGELUActivation) for m in plain.modules())
    ids = torch.tensor([tiny.tokenizer("Which drug treats sepsis? Answer: heparin")["input_ids"]])
    with torch.inference_mode():
        ours, theirs = tiny.model(input_ids=ids).logits, plain(input_ids=ids).logits
    assert torch.allclose(ours, theirs, atol=1e-5, rtol=0)
