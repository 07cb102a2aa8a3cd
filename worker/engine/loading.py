"""Load a causal language model and its tokenizer, once per process.

`trust_remote_code` is always passed explicitly as False: a model folder or hub repository
that ships its own Python code is never executed. Nothing is loaded at import time.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
}
# Files that define a model: weights, configuration and tokenizer. Anything else in the
# folder (README, images, caches) does not change what the model computes.
_DIGEST_SUFFIXES = (
    ".safetensors",
    ".bin",
    ".pt",
    ".pth",
    ".json",
    ".model",
    ".txt",
    ".tiktoken",
    ".jinja",
)
_CHUNK = 1 << 20


class ModelLoadError(ValueError):
    """The model spec is invalid or the model cannot be loaded from it."""


@dataclass(frozen=True)
class ModelSpec:
    """Where a model comes from and how to place it.

    `source` is a local folder or a Hugging Face hub id; a hub id must be pinned to a
    40-hex commit `revision`, because branch names and tags move.
    """

    source: str
    revision: str | None = None
    dtype: str | None = None  # float32 | bfloat16 | float16; None = pick from the machine
    device: str | None = None  # cpu | cuda | cuda:N; None = pick from the machine

    def __post_init__(self) -> None:
        if self.dtype is not None and self.dtype not in _DTYPES:
            raise ModelLoadError(f"unknown dtype {self.dtype!r}; use one of {sorted(_DTYPES)}")
        if self.is_local:
            return
        if _looks_like_path(self.source) or not _HUB_ID_RE.match(self.source):
            raise ModelLoadError(f"model folder not found: {self.source}")
        # Anything else is read as a hub id ("org/name"), which must be pinned.
        if self.revision is None or not _COMMIT_RE.match(self.revision):
            raise ModelLoadError(
                f"{self.source!r} is not a local model folder, and as a hub id it needs a "
                f"revision that is a 40-hex commit sha (got {self.revision!r})"
            )

    @property
    def is_local(self) -> bool:
        return Path(self.source).expanduser().is_dir()


@dataclass
class LoadedModel:
    """A model and tokenizer ready for scoring, with where and how they were placed."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    spec: ModelSpec
    device: str
    dtype: str
    # The SHA-256 of the weights, or its hashing still under way beside the scoring: the
    # manifest needs it only when the run is written.
    digest: str | Future[str] | None
    local_path: str | None

    @property
    def weights_digest(self) -> str | None:
        if isinstance(self.digest, Future):
            self.digest = self.digest.result()
        return self.digest

    @property
    def torch_device(self) -> torch.device:
        import torch

        return torch.device(self.device)


_cache: dict[tuple[str, str | None, str, str], LoadedModel] = {}
_cache_lock = threading.Lock()
# Its thread starts at the first submit, so a worker that forks after import forks none.
_DIGESTS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="weights-digest")


def _looks_like_path(source: str) -> bool:
    return source.startswith(("/", "./", "../", "~")) or "\\" in source


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def pick_device_and_dtype(spec: ModelSpec) -> tuple[str, str]:
    """Choose the device and dtype: CUDA with bf16 where supported, else CPU fp32."""
    import torch

    device = spec.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if spec.dtype is not None:
        return device, _DTYPES[spec.dtype]
    if device.startswith("cuda"):
        return device, "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return device, "float32"


def weights_digest(path: str | Path) -> str:
    """SHA-256 over the sorted weight, config and tokenizer files of a local model folder.

    Each file contributes its relative path and size before its bytes, so renaming or
    moving bytes between files changes the digest. Files are streamed, never read whole.
    """
    root = Path(path)
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix in _DIGEST_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not files:
        raise ModelLoadError(f"no model files in {root}")
    digest = hashlib.sha256()
    for file in files:
        rel = file.relative_to(root).as_posix()
        digest.update(f"{rel}\0{file.stat().st_size}\0".encode())
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def _hub_snapshot_dir(spec: ModelSpec) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(spec.source, "config.json", revision=spec.revision)
    return str(Path(found).parent) if isinstance(found, str) else None


def load_model(spec: ModelSpec) -> LoadedModel:
    """Load (or reuse from this process's cache) the model and tokenizer of `spec`."""
    local = str(Path(spec.source).expanduser().resolve()) if spec.is_local else None
    device, dtype = pick_device_and_dtype(spec)
    source = local or spec.source
    key = (source, spec.revision, device, dtype)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _load(spec, source, device, dtype)
        return _cache[key]


def clear_model_cache() -> None:
    """Forget every loaded model (tests; a worker never needs this)."""
    with _cache_lock:
        _cache.clear()


def _load(spec: ModelSpec, source: str, device: str, dtype: str) -> LoadedModel:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    local_only = spec.is_local or _hub_offline()
    revision = None if spec.is_local else spec.revision
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source, revision=revision, trust_remote_code=False, local_files_only=local_only
        )
        model = AutoModelForCausalLM.from_pretrained(
            source,
            revision=revision,
            trust_remote_code=False,
            local_files_only=local_only,
            dtype=getattr(torch, dtype),
        )
    except (OSError, ValueError, KeyError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"cannot load model {spec.source!r}: {first_line}") from exc
    module: torch.nn.Module = model
    module.to(device)
    module.eval()
    fuse_activations(module)
    if tokenizer.pad_token_id is None:
        # Decoder-only models often ship without a pad token; padded positions are masked
        # out everywhere, so reusing EOS is safe.
        tokenizer.pad_token = tokenizer.eos_token
    local_path = source if spec.is_local else _hub_snapshot_dir(spec)
    # Hashed in a thread (hashlib releases the GIL) beside the first batches, which do not
    # wait for it: on a machine with a free core it costs no time, and on one core it still
    # does not delay the start of scoring.
    digest = _DIGESTS.submit(weights_digest, local_path) if local_path else None
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        spec=spec,
        device=device,
        dtype=dtype,
        digest=digest,
        local_path=local_path,
    )


def fuse_activations(model: torch.nn.Module) -> int:
    """Swap GPT-2's tanh-GELU written in Python for PyTorch's fused kernel of the same function.

    The Python form (`NewGELUActivation`, `FastGELUActivation`) makes five passes over the
    widest activations and took a third of a CPU forward pass of an 86M GPT-2; the kernel
    makes one. Values agree to float rounding (transformers documents them as equivalent).
    Returns how many modules were swapped.
    """
    from transformers import activations

    slow = tuple(
        cls
        for cls in (
            getattr(activations, "NewGELUActivation", None),
            getattr(activations, "FastGELUActivation", None),
        )
        if isinstance(cls, type)
    )
    fused = getattr(activations, "GELUTanh", None) or getattr(activations, "PytorchGELUTanh", None)
    if not slow or fused is None:
        return 0
    swapped = 0
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if type(child) in slow:
                setattr(parent, name, fused())
                swapped += 1
    return swapped
