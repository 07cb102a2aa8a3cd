"""Verify a card file offline, with no CareAlign server: `python -m apps.reports.offline
card.pdf --cert org-cert.pem` (the organisation's certificate, from its key directory or
from an earlier issued card). Prints the card the file claims to be and whether its
signature holds and was made with that certificate; exits 0 only when it does.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from apps.reports import verification


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--cert", type=Path, help="the organisation's certificate (PEM)")
    args = parser.parse_args(argv)
    try:
        content = args.file.read_bytes()
        expected = (
            x509.load_pem_x509_certificate(args.cert.read_bytes())
            .fingerprint(hashes.SHA256())
            .hex()
            if args.cert
            else None
        )
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    fmt = verification.sniff(content)
    check = verification.check_signature(content, fmt)
    answer = verification.signature_answer(check, expected)
    print(f"file: {args.file.name} ({fmt}), sha256 {hashlib.sha256(content).hexdigest()}")
    print(f"claims to be card: {verification.claimed_card_id(content, fmt) or 'none named'}")
    report = _report_id(content) if fmt == "pdf" else None
    if report:
        print(f"claims to be comparison report: {report}")
    for key in ("present", "intact", "covers_whole_file", "signer", "organisation_certificate"):
        if key in answer:
            print(f"signature {key.replace('_', ' ')}: {answer[key]}")
    ok = bool(
        answer.get("intact")
        and answer.get("covers_whole_file")
        and answer.get("organisation_certificate") is not False
    )
    print("verdict: " + ("signature holds" if ok else f"NOT verified {answer.get('detail', '')}"))
    return 0 if ok else 1


def _report_id(content: bytes) -> str | None:
    """The comparison report a PDF names in its metadata (apps/reports/comparison_report.py)."""
    import io

    from pypdf import PdfReader

    try:
        info: Any = PdfReader(io.BytesIO(content), strict=False).metadata or {}
        return str(info.get("/reportId") or "") or None
    except Exception:  # a damaged PDF names nothing
        return None


if __name__ == "__main__":
    raise SystemExit(main())
