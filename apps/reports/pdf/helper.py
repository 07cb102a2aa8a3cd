"""The render helper ("zygote"): WeasyPrint in child processes with time and memory limits.

Importing WeasyPrint costs about 2 s, so each parent process starts one helper (with
subprocess, on first use), which imports it once and forks a fresh child per render; the
helper kills a child that runs past its time limit and the child caps its own memory.
multiprocessing is not used: in a Celery prefork worker (billiard marks the process
daemonic) it refuses to start children. The protocol is length-prefixed pickles over the
helper's stdin and stdout, between the two halves of this module only.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import pickle
import resource
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
FONTCONFIG_FILE = REPO_ROOT / "static" / "reports" / "fonts" / "fonts.conf"
ZYGOTE_START_TIMEOUT_S = 120.0
# Time the helper may take, beyond the render's own limit, to kill a child and answer.
ZYGOTE_SLACK_S = 15.0


class HelperError(Exception):
    """The helper did not start, died, or did not answer in time."""


def _write_frame(fd: int, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(8, "big") + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_frame(fd: int, deadline: float | None = None) -> Any:
    """Read one message; None at end of file; TimeoutError past the deadline."""
    header = _read_exact(fd, 8, deadline)
    if header is None:
        return None
    body = _read_exact(fd, int.from_bytes(header, "big"), deadline)
    if body is None:
        raise EOFError("truncated message")
    return pickle.loads(body)  # only ever from our own helper or child process


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes | None:
    chunks: list[bytes] = []
    got = 0
    while got < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise TimeoutError
        chunk = os.read(fd, min(size - got, 1 << 20))
        if not chunk:
            if got:
                raise EOFError("truncated message")
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class _Zygote:
    def __init__(self) -> None:
        env = {
            **os.environ,
            "FONTCONFIG_FILE": str(FONTCONFIG_FILE),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        self.owner = os.getpid()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-W",
                "ignore:No fonts configured:UserWarning",
                "-c",
                "from apps.reports.pdf.helper import serve; serve()",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO_ROOT,
            env=env,
            start_new_session=True,  # one process group: kill() takes its children too
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin_fd = self.proc.stdin.fileno()
        self.stdout_fd = self.proc.stdout.fileno()
        try:
            ready = _read_frame(self.stdout_fd, time.monotonic() + ZYGOTE_START_TIMEOUT_S)
        except (TimeoutError, EOFError, pickle.UnpicklingError) as exc:
            self.kill()
            raise HelperError(f"did not start ({exc!r})") from exc
        if ready != {"ready": True}:
            self.kill()
            raise HelperError("did not start")

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.proc.poll() is None

    def call(self, message: Mapping[str, Any], wait_s: float) -> dict[str, Any]:
        _write_frame(self.stdin_fd, message)
        response = _read_frame(self.stdout_fd, time.monotonic() + wait_s)
        if response is None:
            raise EOFError("render helper exited")
        assert isinstance(response, dict)
        return response

    def kill(self) -> None:
        """Kill the helper and any render child (its own process group)."""
        if self.owner == os.getpid() and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


_zygote_lock = threading.Lock()
_zygote: _Zygote | None = None


def _zygote_get() -> _Zygote:
    global _zygote
    if _zygote is None or not _zygote.alive():
        _zygote = _Zygote()
    return _zygote


def start() -> None:
    """Start this process's helper unless it runs already."""
    with _zygote_lock:
        _zygote_get()


def call(job: Mapping[str, Any], *, timeout_s: float, memory_mb: int) -> dict[str, Any]:
    """Render `job` (see engine.render_job) in a child; its answer, or status "timeout"."""
    global _zygote
    message = {"job": job, "timeout_s": timeout_s, "memory_bytes": memory_mb * 1024 * 1024}
    with _zygote_lock:
        zygote = _zygote_get()
        try:
            return zygote.call(message, timeout_s + ZYGOTE_SLACK_S)
        except BaseException as exc:
            # Also on a Celery soft time limit: a helper with a request in flight would
            # answer the next caller with this caller's PDF.
            zygote.kill()
            _zygote = None
            if isinstance(exc, OSError | EOFError | TimeoutError | pickle.UnpicklingError):
                raise HelperError(repr(exc)) from exc
            raise


def _forget_zygote() -> None:
    # A forked copy of this process (Celery prefork) must start its own helper.
    global _zygote, _zygote_lock
    _zygote = None
    _zygote_lock = threading.Lock()


def _stop_zygote() -> None:
    if _zygote is not None:
        _zygote.kill()


os.register_at_fork(after_in_child=_forget_zygote)
atexit.register(_stop_zygote)


def serve() -> None:
    """The helper's main loop: fork one child per request, kill it at its deadline."""
    # Imported here, once, before any fork: the reason this helper exists.
    from apps.reports.pdf import engine

    protocol_out = os.dup(1)
    os.dup2(2, 1)  # a stray print must never land in the protocol stream
    protocol_in = sys.stdin.fileno()
    _write_frame(protocol_out, {"ready": True})
    while (request := _read_frame(protocol_in)) is not None:
        response = _run_child(
            engine.render_job,
            request["job"],
            request["timeout_s"],
            request["memory_bytes"],
            close_in_child=(protocol_in, protocol_out),
        )
        _write_frame(protocol_out, response)


def _run_child(
    render: Callable[[Mapping[str, Any]], dict[str, Any]],
    job: Mapping[str, Any],
    timeout_s: float,
    memory_bytes: int,
    close_in_child: tuple[int, ...],
) -> dict[str, Any]:
    read_end, write_end = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the render child
        status = 0
        try:
            os.close(read_end)
            for fd in close_in_child:
                os.close(fd)
            _limit_resources(memory_bytes, timeout_s)
            try:
                outcome = render(job)
            except MemoryError:
                outcome = {"status": "error", "detail": "memory limit reached"}
            _write_frame(write_end, outcome)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    result: dict[str, Any] | None
    try:
        result = _read_frame(read_end, started + timeout_s)
    except TimeoutError:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return {"status": "timeout", "seconds": time.monotonic() - started}
    except EOFError:
        result = None
    finally:
        os.close(read_end)
    _, wait_status = os.waitpid(pid, 0)
    if result is None:
        if os.WIFSIGNALED(wait_status):
            detail = f"render process killed by signal {os.WTERMSIG(wait_status)}"
        else:
            detail = f"render process exited with status {os.waitstatus_to_exitcode(wait_status)}"
        return {
            "status": "crashed",
            "detail": f"{detail} (memory limit {memory_bytes // (1024 * 1024)} MB?)",
        }
    assert isinstance(result, dict)
    result["seconds"] = time.monotonic() - started
    return result


def _limit_resources(memory_bytes: int, timeout_s: float) -> None:
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # CPU time never passes wall time: this only fires if the helper died and cannot kill us.
    cpu = math.ceil(timeout_s) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
