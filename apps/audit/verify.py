"""Verify audit hash chains: shared by `manage.py verify_audit`, the API and offline auditors.

Plain Python on purpose (no Django): an auditor verifies an exported JSONL file with

    python -m apps.audit.verify export.jsonl [--partial] [--anchor HASH ...]

Each event's hash is SHA-256 over the canonical JSON of HASHED_FIELDS (sorted keys, no
whitespace, UTF-8, times as ISO-8601 UTC with microseconds), `prev_hash` included; the first
event of a chain links to GENESIS_HASH. One chain per organisation (`organization` is null on
the platform chain).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "organization",
    "seq",
    "occurred_at",
    "actor",
    "actor_user_id",
    "actor_role",
    "source",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "changes",
    "request_id",
    "client_ip",
    "user_agent",
    "prev_hash",
)


def format_time(value: datetime) -> str:
    """The one text form of an event time: ISO-8601 in UTC with microseconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_json(record: Mapping[str, Any]) -> bytes:
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def compute_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an event's hashed fields (`prev_hash` among them)."""
    hashed = {name: record[name] for name in HASHED_FIELDS}
    return hashlib.sha256(canonical_json(hashed)).hexdigest()


def chain_label(chain: int | None) -> str:
    return "platform" if chain is None else f"organization {chain}"


@dataclass
class ChainResult:
    """What verifying one chain found: its length and head, or the first broken event."""

    chain: int | None
    count: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    broken_seq: int | None = None
    problem: str = ""
    gaps: int = 0  # only in --partial mode: runs of events left out by the export's filters
    anchors_found: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return self.broken_seq is None

    @property
    def summary(self) -> str:
        if not self.ok:
            return f"broken at event {self.broken_seq}: {self.problem}"
        partial = f" (partial: {self.gaps} gap(s) left by filters)" if self.gaps else ""
        return f"{self.count} events, chain intact{partial}, head {self.head_hash}"


class ChainVerifier:
    """Walk one chain in sequence order; stop at the first event that does not verify."""

    def __init__(self, chain: int | None, *, partial: bool = False, anchors: Iterable[str] = ()):
        self.result = ChainResult(chain=chain)
        self.partial = partial
        self.anchors = set(anchors)
        self._linked = True  # the next event must link to head_hash

    def _break(self, seq: int, problem: str) -> None:
        self.result.broken_seq = seq
        self.result.problem = problem

    def add(self, record: Mapping[str, Any]) -> bool:
        """Check the next event; False once the chain is broken (later events are ignored)."""
        result = self.result
        if not result.ok:
            return False
        missing = [name for name in (*HASHED_FIELDS, "hash") if name not in record]
        if missing:
            self._break(result.head_seq + 1, f"missing field(s) {', '.join(missing)}")
            return False
        seq = record["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool):
            self._break(result.head_seq + 1, f"sequence number {seq!r} is not an integer")
            return False
        # Content first: an edited event is named as itself, not as a broken link after it.
        recomputed = compute_hash(record)
        if recomputed != record["hash"]:
            self._break(
                seq,
                f"stored hash {str(record['hash'])[:16]}… does not match its content "
                f"(recomputed {recomputed[:16]}…): the event was altered",
            )
            return False
        expected = result.head_seq + 1
        if seq != expected:
            if self.partial and seq > expected:
                result.gaps += 1
                self._linked = False
            elif seq > expected:
                self._break(
                    expected,
                    f"event {expected} is missing (the next event found is {seq})",
                )
                return False
            else:
                self._break(seq, f"event {seq} appears again or out of order after {expected - 1}")
                return False
        if self._linked and record["prev_hash"] != result.head_hash:
            self._break(
                seq,
                f"its previous hash {str(record['prev_hash'])[:16]}… does not match the hash of "
                f"event {seq - 1} ({result.head_hash[:16]}…): event {seq - 1} was altered or "
                "replaced",
            )
            return False
        self._linked = True
        result.count += 1
        result.head_seq = seq
        result.head_hash = record["hash"]
        if record["hash"] in self.anchors:
            result.anchors_found.add(record["hash"])
        return True


def verify_records(
    records: Iterable[Mapping[str, Any]], *, partial: bool = False, anchors: Iterable[str] = ()
) -> dict[int | None, ChainResult]:
    """Verify events of one or more chains, each in sequence order; results by organisation."""
    anchors = set(anchors)
    verifiers: dict[int | None, ChainVerifier] = {}
    for record in records:
        chain = record.get("organization")
        verifier = verifiers.get(chain)
        if verifier is None:
            verifier = verifiers[chain] = ChainVerifier(chain, partial=partial, anchors=anchors)
        verifier.add(record)
    return {chain: verifier.result for chain, verifier in verifiers.items()}


class MalformedExport(ValueError):
    pass


def read_jsonl(stream: TextIO) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise MalformedExport(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise MalformedExport(f"line {number}: not a JSON object")
        yield record


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m apps.audit.verify",
        description="Verify the hash chains in a CareAlign audit export (JSONL), offline.",
    )
    parser.add_argument("file", help="the exported .jsonl file, or - for standard input")
    parser.add_argument(
        "--partial",
        action="store_true",
        help="the export was filtered: accept gaps, verify each event and each unbroken link",
    )
    parser.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="HASH",
        help="a chain head published earlier (e.g. on a model card): it must be in the chain",
    )
    args = parser.parse_args(argv)
    try:
        with (
            open(args.file, encoding="utf-8") if args.file != "-" else nullcontext(sys.stdin)
        ) as stream:
            results = verify_records(read_jsonl(stream), partial=args.partial, anchors=args.anchor)
    except (OSError, MalformedExport, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not results:
        print("error: the file holds no events", file=sys.stderr)
        return 2
    ok = True
    for chain, result in sorted(results.items(), key=lambda item: (item[0] is not None, item[0])):
        print(f"{chain_label(chain)}: {result.summary}")
        ok = ok and result.ok
    found = set().union(*(result.anchors_found for result in results.values()))
    for anchor in args.anchor:
        if anchor not in found:
            print(f"anchor {anchor} is not in any verified chain")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
