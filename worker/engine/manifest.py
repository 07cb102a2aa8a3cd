"""The reproducibility manifest of one evaluation: what ran, on what, with what, when."""

from __future__ import annotations

import hashlib
import platform
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.engine.loading import LoadedModel

MANIFEST_VERSION = 2
ENGINE_DIR = Path(__file__).resolve().parent
_LIBRARIES = ("torch", "transformers", "tokenizers", "evaluate", "numpy", "scipy")
_CHUNK = 1 << 20


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes, streamed; of a folder, of its files' paths and digests."""
    path = Path(path)
    if path.is_dir():
        listing = hashlib.sha256()
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            listing.update(f"{child.relative_to(path).as_posix()}\0{file_digest(child)}\n".encode())
        return listing.hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def engine_version() -> dict[str, str | None]:
    """The project's version, its git commit when there is one, and a digest of the engine."""
    try:
        version: str | None = metadata.version("carealign")
    except metadata.PackageNotFoundError:
        version = None
    source = hashlib.sha256()
    for file in sorted(ENGINE_DIR.rglob("*.py")):
        source.update(f"{file.relative_to(ENGINE_DIR).as_posix()}\0".encode())
        source.update(file.read_bytes())
    return {"package": version, "git_commit": _git_commit(), "source_sha256": source.hexdigest()}


def _git_commit() -> str | None:
    head = ENGINE_DIR.parent.parent / ".git"
    try:
        if head.is_file():  # a worktree: "gitdir: <path>"
            head = Path(head.read_text().split(":", 1)[1].strip())
        ref = (head / "HEAD").read_text().strip()
        if not ref.startswith("ref: "):
            return ref
        name = ref[5:]
        for base in (head, _common_dir(head)):
            if (base / name).is_file():
                return (base / name).read_text().strip()
            packed = base / "packed-refs"
            if packed.is_file():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + name):
                        return line.split(" ", 1)[0]
    except OSError:
        return None
    return None


def _common_dir(gitdir: Path) -> Path:
    common = gitdir / "commondir"
    return (gitdir / common.read_text().strip()).resolve() if common.is_file() else gitdir


def dataset_entry(
    path: str | Path,
    *,
    fmt: str | None = None,
    language: str | None = None,
    checks: Iterable[str] | None = None,
) -> dict[str, Any]:
    """What the manifest records of one dataset: where, its digest, how it was read, for what."""
    return {
        "path": str(Path(path).resolve()),
        "name": Path(path).name,
        "sha256": file_digest(path),
        "format": fmt,
        "language": language,
        "checks": None if checks is None else list(checks),
    }


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class RunClock:
    """Wall and CPU time of a run, started when created."""

    started_at: str = field(default_factory=utc_now)
    _wall0: float = field(default_factory=time.perf_counter)
    _cpu0: float = field(default_factory=time.process_time)
    ended_at: str | None = None
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0

    def stop(self) -> None:
        self.ended_at = utc_now()
        self.wall_seconds = time.perf_counter() - self._wall0
        self.cpu_seconds = time.process_time() - self._cpu0


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def device_name(device: str) -> str:
    """The accelerator's marketing name, or the CPU model on CPU."""
    if device.startswith("cuda"):
        import torch

        return str(torch.cuda.get_device_name(torch.device(device)))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build_manifest(
    *,
    loaded: LoadedModel,
    clock: RunClock,
    checks: Iterable[str],
    check_config: Mapping[str, Any],
    seed: int,
    batch_size: int | str,
    dataset_paths: Iterable[str | Path | Mapping[str, Any]] = (),
    expanded_config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the manifest as JSON-ready data; `clock` should already be stopped.

    A dataset is a path, or an entry of `dataset_entry` (format, language and checks too).
    """
    import torch

    gpus = 1 if loaded.device.startswith("cuda") else 0
    return {
        "manifest_version": MANIFEST_VERSION,
        "model": {
            "source": loaded.spec.source,
            "revision": loaded.spec.revision,
            "local_path": loaded.local_path,
            "weights_digest": loaded.weights_digest,
            "model_type": getattr(loaded.model.config, "model_type", None),
            "parameters": sum(p.numel() for p in loaded.model.parameters()),
        },
        "datasets": [
            dict(path) if isinstance(path, Mapping) else dataset_entry(path)
            for path in dataset_paths
        ],
        "checks": list(checks),
        "check_config": dict(check_config),
        "effective_config": dict(expanded_config or {}),
        "engine": engine_version(),
        "seed": seed,
        "batch_size": batch_size,
        "versions": library_versions(),
        "platform": {"system": platform.platform(), "executable": sys.executable},
        "device": {
            "device": loaded.device,
            "name": device_name(loaded.device),
            "dtype": loaded.dtype,
            "gpus": gpus,
            "torch_threads": torch.get_num_threads(),
            "attention_implementation": getattr(loaded.model.config, "_attn_implementation", None),
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        },
        "started_at": clock.started_at,
        "ended_at": clock.ended_at,
        "wall_seconds": round(clock.wall_seconds, 3),
        "gpu_seconds": round(clock.wall_seconds * gpus, 3),
        "cpu_seconds": round(clock.cpu_seconds, 3),
    }
