"""Who and where events come from: a request (its user or token), a command, or the system."""

from __future__ import annotations

import functools
import getpass
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class AuditContext:
    """Where events come from: a request (its user or token), a command, or the system."""

    source: str  # api, admin, web, command:<name>, system
    system_actor: str = "system"  # the actor when no user or token is acting
    request: Any = None
    request_id: str = ""
    client_ip: str = ""
    user_agent: str = ""


_context: ContextVar[AuditContext | None] = ContextVar("carealign_audit_context", default=None)


@contextmanager
def audit_context(
    *,
    source: str,
    actor: str | None = None,
    request: Any = None,
    request_id: str = "",
    client_ip: str = "",
    user_agent: str = "",
) -> Iterator[AuditContext]:
    """Attribute the events written in the block: to the request's user or token, else `actor`."""
    context = AuditContext(
        source=source,
        system_actor=actor or "system",
        request=request,
        request_id=request_id,
        client_ip=client_ip,
        user_agent=user_agent,
    )
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)


@functools.cache
def _process_context() -> AuditContext:
    """Outside a request: `manage.py <command>` names the command and the OS user running it."""
    program = Path(sys.argv[0]).name if sys.argv else ""
    if program not in ("manage.py", "django-admin") or len(sys.argv) < 2:
        return AuditContext(source="system")
    command = sys.argv[1]
    try:
        os_user = getpass.getuser()
    except Exception:  # no login name in a bare container: say so rather than fail the write
        os_user = "unknown"
    return AuditContext(
        source=f"command:{command}",
        system_actor=f"system:{command}",
        user_agent=f"{program} {command} (os user {os_user} on {socket.gethostname()})",
    )


def current_context() -> AuditContext:
    return _context.get() or _process_context()
