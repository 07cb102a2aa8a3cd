"""The OpenAPI schema is valid, and every operation answers as it documents.

Schemathesis (`--checks all`) runs against a live test server twice: without credentials,
and with an organisation admin's token. Each run generates requests from the schema (its
examples, boundary and negative cases, and random ones) and fails on any answer the schema
does not document: a 5xx, an undocumented status or content type, a body that breaks its
schema, an invalid request accepted.
"""

from __future__ import annotations

import io
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate

from apps.accounts.models import Membership, Organization, Role, User
from apps.accounts.services import api_token_create

CONFIG = Path(__file__).with_name("schemathesis.toml")
# An admin that revokes its own token or demotes itself ends the run's authentication.
SELF_DESTRUCTIVE = (
    "POST /api/v1/tokens/{id}/revoke/",
    "DELETE /api/v1/memberships/{id}/",
    "PATCH /api/v1/memberships/{id}/",
)


def test_the_schema_is_valid_openapi() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate(schema)  # raises on the first violation of the OpenAPI 3 specification


def _served_schema(url: str, directory: Path) -> Path:
    """The schema the server serves, saved once: Schemathesis gives a schema URL 10 seconds,
    which generating it may take on a loaded machine."""
    path = directory / "openapi.json"
    request = urllib.request.Request(f"{url}/api/schema/", headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        path.write_bytes(response.read())
    return path


def _schemathesis(
    url: str, schema: Path, phases: str, *options: str
) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        str(schema),
        "--url",
        url,
        "--request-timeout",
        "120",
        "--checks",
        "all",
        "--phases",
        phases,
        "--max-examples",
        "3",
        "--workers",
        "2",
        "--seed",
        "20261205",
        "--generation-deterministic",
        *options,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


def _problems(output: str) -> str:
    """The report's errors and failures (what to fix), then its summary."""
    start = min(
        (i for i in (output.find("= ERRORS ="), output.find("= FAILURES =")) if i >= 0), default=0
    )
    return output[start : start + 12000] + "\n...\n" + output[-1500:]


class _Prefixed(io.RawIOBase):
    """A connection's reader that first gives back a request body already read from it."""

    def __init__(self, body: bytes, rest: Any) -> None:
        self.body, self.rest = io.BytesIO(body), rest

    def read(self, size: int | None = -1) -> bytes:
        data = self.body.read(size if size is not None else -1)
        return data or self.rest.read(size)

    def readline(self, size: int | None = -1) -> bytes:
        return self.body.readline(size) or self.rest.readline(size)


class ChunkedRequestHandler(QuietWSGIRequestHandler):
    """Django's test server handler, made to read chunked request bodies, as production
    servers do (wsgiref leaves them in the connection, to be misread as the next request)."""

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            del self.headers["Transfer-Encoding"]
            self.headers["Content-Length"] = str(len(body))
            self.rfile = _Prefixed(bytes(body), self.rfile)  # type: ignore[assignment]
        return True


class LiveServer(LiveServerThread):
    def _create_server(self, connections_override: Any = None) -> Any:
        return self.server_class(
            (self.host, self.port),
            ChunkedRequestHandler,
            allow_reuse_address=False,
            connections_override=connections_override,
        )


@pytest.fixture
def server(transactional_db: Any) -> Iterator[str]:
    thread = LiveServer("127.0.0.1", StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


def test_schemathesis_finds_no_failure(server: str, tmp_path: Path) -> None:
    org = Organization.objects.create(name="St Fuzz", slug="st-fuzz", kind="provider")
    admin = User.objects.create(username="fuzz-admin")
    Membership.objects.create(user=admin, organization=org, role=Role.ADMIN)
    token = api_token_create(organization=org, created_by=admin, name="fuzz", role=Role.ADMIN)

    # Without credentials every operation must answer 401 as documented: random requests
    # suffice. With the admin's token, also the boundary and negative cases of each one.
    schema = _served_schema(server, tmp_path)
    anonymous = _schemathesis(server, schema, "fuzzing")
    assert anonymous.returncode == 0, _problems(anonymous.stdout)
    excluded = [arg for name in SELF_DESTRUCTIVE for arg in ("--exclude-name", name)]
    auth = f"Authorization: Bearer {token.secret}"
    phases = "examples,coverage,fuzzing"
    as_admin = _schemathesis(server, schema, phases, "--header", auth, *excluded)
    assert as_admin.returncode == 0, _problems(as_admin.stdout)
