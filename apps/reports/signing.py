"""Signed, self-proving card files: PAdES on the PDF, XML-DSig on the CHAI XML.

Each organisation signs with its own key and certificate, kept in the key directory
(CAREALIGN_SIGNING_KEY_DIR/org-<id>/, key readable by the server only): generated on first
use (a self-signed certificate naming the organisation), or installed from an uploaded pair
(`manage.py card_signing_key`). The key never leaves that directory; the certificate is in
every signature, so anyone can check a file offline (README: "Verifying a card offline").

The PDF signature is an incremental update after the PDF/A-3b file is written, so the
signed file stays PDF/A-3b and the bytes WeasyPrint wrote are covered unchanged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

KEY_FILE = "signing-key.pem"
CERT_FILE = "signing-cert.pem"
SIG_FIELD = "CareAlignCard"
CERT_YEARS = 5


class SigningKeyError(ValueError):
    """An uploaded key and certificate that cannot be used (not a pair, expired, unreadable)."""


@dataclass(frozen=True)
class OrgKey:
    key_path: Path
    cert_path: Path

    @property
    def cert_pem(self) -> bytes:
        return self.cert_path.read_bytes()

    @property
    def fingerprint(self) -> str:
        cert = x509.load_pem_x509_certificate(self.cert_pem)
        return cert.fingerprint(hashes.SHA256()).hex()


def key_dir(organization_id: int) -> Path:
    return Path(settings.CAREALIGN_SIGNING_KEY_DIR) / f"org-{int(organization_id)}"


def org_key(*, organization_id: int, organization_name: str) -> OrgKey:
    """The organisation's signing key and certificate, generated on first use."""
    folder = key_dir(organization_id)
    found = OrgKey(folder / KEY_FILE, folder / CERT_FILE)
    if found.key_path.is_file() and found.cert_path.is_file():
        return found
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organization_name} model cards"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization_name[:64] or "-"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * CERT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    _install(folder, key, cert)
    return found


def org_key_install(*, organization_id: int, key_pem: bytes, cert_pem: bytes) -> OrgKey:
    """Install an uploaded key and certificate (PEM) as the organisation's signing pair."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
        cert = x509.load_pem_x509_certificate(cert_pem)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"unreadable key or certificate: {exc}") from exc
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.PEM
    if key.public_key().public_bytes(encoding, public) != cert.public_key().public_bytes(
        encoding, public
    ):
        raise SigningKeyError("the certificate is not for this private key")
    if cert.not_valid_after_utc <= dt.datetime.now(dt.UTC):
        raise SigningKeyError("the certificate has expired")
    folder = key_dir(organization_id)
    _install(folder, key, cert, replace=True)
    return OrgKey(folder / KEY_FILE, folder / CERT_FILE)


def _install(folder: Path, key: Any, cert: x509.Certificate, replace: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Two workers generating at once: write aside, then rename; the first pair wins.
    for name, data, mode in (
        (KEY_FILE, key_bytes, 0o600),
        (CERT_FILE, cert.public_bytes(serialization.Encoding.PEM), 0o644),
    ):
        tmp = folder / f".{name}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        target = folder / name
        if replace or not target.exists():
            os.replace(tmp, target)
        else:
            tmp.unlink()


def sign_pdf(content: bytes, key: OrgKey, *, reason: str, location: str) -> bytes:
    """A PAdES B-B signature over the whole file, as an incremental update."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = signers.SimpleSigner.load(str(key.key_path), str(key.cert_path))  # type: ignore[no-untyped-call]
    writer = IncrementalPdfFileWriter(io.BytesIO(content))
    meta = signers.PdfSignatureMetadata(
        field_name=SIG_FIELD,
        reason=reason,
        location=location,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    pdf_signer = signers.PdfSigner(meta, signer, new_field_spec=fields.SigFieldSpec(SIG_FIELD))
    out = _off_any_loop(lambda: pdf_signer.sign_pdf(writer, in_place=False))
    return bytes(out.getvalue())


def sign_xml(content: bytes, key: OrgKey) -> bytes:
    """The CHAI XML with an enveloped ds:Signature as the root's last child (the XSD's place)."""
    from lxml import etree
    from signxml.algorithms import SignatureMethod
    from signxml.signer import XMLSigner

    root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False))
    signed = XMLSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256).sign(
        root, key=key.key_path.read_bytes(), cert=key.cert_pem.decode()
    )
    body = etree.tostring(signed, encoding="UTF-8", xml_declaration=True)
    return bytes(body) + b"\n"


@dataclass
class SignatureCheck:
    """What a signature proves about a file: present, intact, covering it, and whose."""

    present: bool
    intact: bool = False
    covers_whole_file: bool = False
    certificate_sha256: str | None = None
    signer: str | None = None
    detail: str = ""


def _off_any_loop(call: Any) -> Any:
    """Run pyHanko's synchronous API, which calls asyncio.run(): in a thread of its own when
    this thread already runs an event loop (an ASGI server, a browser-test driver)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def check_pdf(content: bytes) -> SignatureCheck:
    """The PDF's card signature: intact, covering the whole file, and the signing cert."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(content), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # pyHanko raises several kinds on a damaged file
        return SignatureCheck(present=False, detail=f"the PDF cannot be read: {exc}")
    if not signatures:
        return SignatureCheck(present=False, detail="the PDF carries no signature")
    embedded = signatures[-1]
    cert = embedded.signer_cert
    trust = ValidationContext(trust_roots=[cert], allow_fetching=False)
    try:
        status = _off_any_loop(lambda: validate_pdf_signature(embedded, trust))
    except Exception as exc:
        return SignatureCheck(present=True, detail=f"the signature cannot be validated: {exc}")
    covers = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    return SignatureCheck(
        present=True,
        intact=bool(status.intact and status.valid),
        covers_whole_file=covers,
        certificate_sha256=hashlib.sha256(cert.dump()).hexdigest(),
        signer=cert.subject.human_friendly,
        detail="" if covers else "the file was changed after it was signed",
    )


def check_xml(content: bytes) -> SignatureCheck:
    """The CHAI XML's ds:Signature: intact, and the certificate it carries."""
    from lxml import etree
    from signxml.exceptions import InvalidInput, InvalidSignature
    from signxml.verifier import XMLVerifier

    if b"Signature" not in content:
        return SignatureCheck(present=False, detail="the XML carries no ds:Signature")
    try:
        root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False))
        ns = {"ds": "http://www.w3.org/2000/09/xmldsig#"}
        cert_text = root.findtext(".//ds:X509Certificate", namespaces=ns)
        if not cert_text:
            return SignatureCheck(present=True, detail="the signature carries no certificate")
        pem = (
            "-----BEGIN CERTIFICATE-----\n"
            + "".join(cert_text.split())
            + "\n-----END CERTIFICATE-----\n"
        )
        XMLVerifier().verify(root, x509_cert=pem)
    except (InvalidSignature, InvalidInput, etree.XMLSyntaxError, ValueError) as exc:
        return SignatureCheck(present=True, detail=f"the signature does not hold: {exc}")
    cert = x509.load_pem_x509_certificate(pem.encode())
    return SignatureCheck(
        present=True,
        intact=True,
        covers_whole_file=True,
        certificate_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        signer=cert.subject.rfc4514_string(),
    )
