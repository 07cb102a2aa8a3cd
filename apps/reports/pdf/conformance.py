"""A rule-level PDF/A-3b check of the files we write (a subset of veraPDF's rules).

It checks what our renderer and signer could get wrong, each rule named as veraPDF names
it where it can: identification in the XMP packet, the output intent, every font embedded,
each associated file's relationship and MIME type, string length, unique /AF entries,
sorted name trees, no encryption or JavaScript, and `qpdf --check` without a warning.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from typing import Any

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    StreamObject,
    TextStringObject,
)

MAX_STRING_BYTES = 32_767
_PART = re.compile(rb"pdfaid:part(?:>|=\")\s*3\b")
_CONFORMANCE = re.compile(rb"pdfaid:conformance(?:>|=\")\s*B\b")


def pdfa_problems(content: bytes, *, qpdf: bool = True) -> list[str]:
    """Every PDF/A-3b rule this file breaks, in words; an empty list when it passes."""
    problems: list[str] = []
    if not content.startswith(b"%PDF-"):
        return ["6.1.2: the file does not start with a PDF header"]
    try:
        reader = PdfReader(io.BytesIO(content))
        trailer = reader.trailer
        if "/Encrypt" in trailer:
            return ["6.1.3: the file is encrypted", *(qpdf_problems(content) if qpdf else [])]
        catalog = _resolve(trailer["/Root"])
    except Exception as exc:  # pypdf raises many kinds on a damaged file
        return [f"the file cannot be parsed: {exc}", *(qpdf_problems(content) if qpdf else [])]
    problems += _identification(catalog)
    problems += _output_intent(catalog)
    objects = list(_all_objects(reader))
    problems += _strings(objects)
    problems += _fonts(objects)
    problems += _javascript(catalog, objects)
    problems += _associated_files(catalog, objects)
    problems += _annotations(objects)
    for tree in ("/EmbeddedFiles", "/Dests"):
        names = _resolve(catalog.get("/Names") or DictionaryObject()).get(tree)
        if names is not None and not _sorted_tree(_resolve(names)):
            problems.append(f"name tree {tree} is not sorted")
    if qpdf:
        problems += qpdf_problems(content)
    return problems


def qpdf_problems(content: bytes) -> list[str]:
    """What `qpdf --check` reports, warnings included (qpdf silently repairs those)."""
    binary = shutil.which("qpdf")
    if binary is None:
        return ["qpdf is not installed (make services installs it)"]
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(content)
        handle.flush()
        done = subprocess.run(
            [binary, "--check", handle.name], capture_output=True, timeout=60, check=False
        )
    out = (done.stdout + done.stderr).decode(errors="replace")
    lines = [line for line in out.splitlines() if "WARNING" in line or line.startswith("qpdf:")]
    if done.returncode != 0 or lines:
        return [f"qpdf --check (exit {done.returncode}): " + " | ".join(lines or [out.strip()])]
    return []


def _resolve(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _all_objects(reader: PdfReader) -> Any:
    numbers = {n for table in reader.xref.values() for n in table} | set(reader.xref_objStm)
    for number in sorted(numbers):
        try:
            found = reader.get_object(number)
        except Exception:  # a free or damaged entry: qpdf reports those
            continue
        if found is not None:
            yield found


def _identification(catalog: DictionaryObject) -> list[str]:
    metadata = catalog.get("/Metadata")
    if metadata is None:
        return ["6.6.2.1: the catalog has no XMP metadata stream"]
    xmp = _resolve(metadata).get_data()
    problems = []
    if not _PART.search(xmp):
        problems.append("6.6.4: XMP pdfaid:part is not 3")
    if not _CONFORMANCE.search(xmp):
        problems.append("6.6.4: XMP pdfaid:conformance is not B")
    return problems


def _output_intent(catalog: DictionaryObject) -> list[str]:
    intents = [_resolve(i) for i in _resolve(catalog.get("/OutputIntents") or ArrayObject())]
    pdfa = [i for i in intents if i.get("/S") == "/GTS_PDFA1"]
    if not pdfa:
        return ["6.2.3: no GTS_PDFA1 output intent"]
    if not all(isinstance(_resolve(i.get("/DestOutputProfile")), StreamObject) for i in pdfa):
        return ["6.2.3: the output intent has no embedded ICC profile"]
    return []


def _walk(value: Any, depth: int = 0) -> Any:
    """Every direct value inside an object (not following references)."""
    if depth > 50:
        return
    yield value
    if isinstance(value, DictionaryObject):
        for item in value.values():
            yield from _walk(item, depth + 1)
    elif isinstance(value, ArrayObject):
        for item in value:
            yield from _walk(item, depth + 1)


def _string_bytes(value: Any) -> int | None:
    if isinstance(value, TextStringObject):
        return len(value.get_original_bytes())
    if isinstance(value, ByteStringObject):
        return len(bytes(value))
    return None


def _strings(objects: list[Any]) -> list[str]:
    problems = []
    for obj in objects:
        for value in _walk(obj):
            size = _string_bytes(value)
            if size is not None and size > MAX_STRING_BYTES:
                problems.append(f"6.1.13-3: a string of {size:,} bytes (max {MAX_STRING_BYTES:,})")
    return problems


def _fonts(objects: list[Any]) -> list[str]:
    problems = []
    for obj in objects:
        if not isinstance(obj, DictionaryObject) or obj.get("/Type") != "/Font":
            continue
        subtype = obj.get("/Subtype")
        if subtype in ("/Type0", "/Type3"):
            continue  # Type0: its descendant font is checked; Type3: glyphs are content
        descriptor = _resolve(obj.get("/FontDescriptor"))
        name = obj.get("/BaseFont", "?")
        if descriptor is None or not any(
            k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
        ):
            problems.append(f"6.2.11.4.1: font {name} is not embedded")
    return problems


def _javascript(catalog: DictionaryObject, objects: list[Any]) -> list[str]:
    problems = []
    names = _resolve(catalog.get("/Names") or DictionaryObject())
    if "/JavaScript" in names:
        problems.append("6.6.1: the name dictionary holds JavaScript")
    if "/AA" in catalog or "/OpenAction" in catalog:
        problems.append("6.6.2: the catalog has additional or open actions")
    for obj in objects:
        for value in _walk(obj):
            if isinstance(value, DictionaryObject) and (
                "/JS" in value or value.get("/S") == "/JavaScript"
            ):
                problems.append("6.6.1: a JavaScript action")
                return problems
    return problems


def _associated_files(catalog: DictionaryObject, objects: list[Any]) -> list[str]:
    problems = []
    listed = [
        ref.idnum if isinstance(ref, IndirectObject) else id(ref)
        for ref in _resolve(catalog.get("/AF") or ArrayObject())
    ]
    if len(listed) != len(set(listed)):
        problems.append("catalog /AF lists an associated file more than once")
    for obj in objects:
        if not isinstance(obj, DictionaryObject) or obj.get("/Type") != "/Filespec":
            continue
        if "/EF" not in obj:
            continue
        name = obj.get("/UF") or obj.get("/F")
        if obj.get("/AFRelationship") is None:
            problems.append(f"6.8-5: embedded file {name} has no AFRelationship")
        stream = _resolve(_resolve(obj["/EF"]).get("/F"))
        subtype = stream.get("/Subtype") if stream is not None else None
        if not isinstance(subtype, NameObject) or "/" not in str(subtype)[1:].replace("#2f", "/"):
            problems.append(f"6.8-2: embedded file {name} has no MIME type (Subtype)")
        if obj.indirect_reference is None or obj.indirect_reference.idnum not in listed:
            problems.append(f"6.8-4: embedded file {name} is not in the catalog's /AF")
    return problems


def _annotations(objects: list[Any]) -> list[str]:
    """6.3.2: annotations print, and are not hidden (the signature widget included)."""
    problems = []
    for obj in objects:
        if not isinstance(obj, DictionaryObject) or obj.get("/Type") != "/Annot":
            continue
        flags = int(obj.get("/F", 0))
        if obj.get("/Subtype") != "/Popup" and (not flags & 4 or flags & (1 | 2 | 32)):
            problems.append(f"6.3.2: annotation {obj.get('/Subtype')} flags {flags}")
    return problems


def _sorted_tree(node: DictionaryObject) -> bool:
    if "/Names" in node:
        flat = _resolve(node["/Names"])
        keys = [_key(_resolve(k)) for k in flat[::2]]
        if keys != sorted(keys):
            return False
    return all(_sorted_tree(_resolve(kid)) for kid in _resolve(node.get("/Kids") or []))


def _key(value: Any) -> bytes:
    if isinstance(value, TextStringObject):
        return bytes(value.get_original_bytes())
    return bytes(value)
