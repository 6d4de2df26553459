"""Reading submissions: Turtle, JSON-LD, plain JSON (through the registry's context) and CSV.

Every reader returns a :class:`Parsed`: the triples, plus where each record came from (a CSV row,
a JSON ``id``) so that reports can point at the place a provider has to fix. RDF/XML is refused
outright (entity-expansion risk).

Nothing here can fetch anything. JSON-LD is read by Oxigraph's parser, which has no way to load
a document: every reference to another one (a string or array ``@context``, ``@import``, scoped
contexts on terms and types, contexts inside ``@graph`` or nested nodes, ``file:`` and relative
IRIs) fails inside the parser, and is refused with one message that says nothing about the
target (no "connection refused" against "not JSON" oracle). References to the registry's own
context are replaced by the context itself before parsing, so they work without a fetch.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from registry.base import media as media_types
from registry.base.errors import PayloadTooLarge, UnsupportedFormat, UnusableInput
from registry.base.resources import context_path
from registry.submissions.csvformat import rows_to_triples

# Local IDs in a submission resolve against this base (``.invalid`` is reserved: RFC 2606).
SUBMISSION_BASE = "http://submission.invalid/"
CONTEXT_IRI = "https://w3id.org/fdi/context.jsonld"
MAX_JSON_DEPTH = 32
# Oxigraph's parsers hold one token (an IRI, a literal, a JSON string) in a buffer of this size.
MAX_TOKEN_BYTES = 16 * 1024 * 1024
REMOTE_REFUSED = (
    "JSON-LD referring to another document (a remote or relative @context, @import, a scoped "
    "context by IRI) is refused: another document is never fetched; put the context inline, "
    f"or name the registry's own ({CONTEXT_IRI})"
)
_NO_LOADER = "No LoadDocumentCallback"  # what Oxigraph's JSON-LD parser says for any reference

# What a submission may be: its name, media type and file extensions.
FORMATS = {
    "turtle": (media_types.TURTLE.type, (".ttl",)),
    "ntriples": (media_types.N_TRIPLES.type, (".nt",)),
    "jsonld": (media_types.JSON_LD.type, (".jsonld",)),
    "json": (media_types.JSON.type, (".json",)),
    "csv": (media_types.CSV.type, (".csv",)),
}
REFUSED = {
    "application/rdf+xml": "RDF/XML is not accepted for submissions (entity-expansion risk); "
    "send Turtle, JSON-LD, JSON or CSV",
    ".rdf": "RDF/XML is not accepted for submissions; send Turtle, JSON-LD, JSON or CSV",
    ".owl": "RDF/XML is not accepted for submissions; send Turtle, JSON-LD, JSON or CSV",
    ".xml": "XML is not accepted for submissions; send Turtle, JSON-LD, JSON or CSV",
}


@dataclass
class Parsed:
    """The triples of one submission and where its records came from."""

    source: str
    format: str
    triples: list[ox.Triple]
    origins: dict[ox.NamedNode | ox.BlankNode, str] = field(default_factory=dict)


def format_for(filename: str | None = None, media_type: str | None = None) -> str:
    """The submission format named by a media type or, failing that, a file name.

    Raises UnsupportedFormat for RDF/XML and for anything unknown.

    >>> format_for("assets.csv")
    'csv'
    >>> format_for(media_type="application/ld+json; charset=utf-8")
    'jsonld'
    """
    if media_type:
        bare = media_type.split(";")[0].strip().lower()
        if bare in REFUSED:
            raise UnsupportedFormat(REFUSED[bare])
        for name, (mt, _) in FORMATS.items():
            if bare == mt:
                return name
        if bare not in ("", "application/octet-stream", "text/plain"):
            raise UnsupportedFormat(f"media type {bare!r} is not accepted; " + _accepted())
    if filename:
        suffix = Path(filename).suffix.lower()
        if suffix in REFUSED:
            raise UnsupportedFormat(REFUSED[suffix])
        for name, (_, suffixes) in FORMATS.items():
            if suffix in suffixes:
                return name
    raise UnsupportedFormat(f"cannot tell the format of {filename or 'the body'}; " + _accepted())


def _accepted() -> str:
    return "accepted: " + ", ".join(f"{mt} ({', '.join(s)})" for mt, s in FORMATS.values())


def read_file(path: Path) -> Parsed:
    """Read a submission file. Raises UnusableInput if it cannot be read or parsed."""
    fmt = format_for(path.name)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UnusableInput(f"{path}: cannot read the file: {e.strerror or e}") from e
    return read_bytes(data, fmt, source=str(path))


def read_bytes(data: bytes, fmt: str, source: str = "body") -> Parsed:
    """Parse a submission in the given format. Raises UnusableInput on a syntax error."""
    reader = {
        "turtle": _read_rdf,
        "ntriples": _read_rdf,
        "jsonld": _read_jsonld,
        "json": _read_jsonld,
        "csv": _read_csv,
    }.get(fmt)
    if reader is None:
        raise UnsupportedFormat(f"format {fmt!r} is not accepted; " + _accepted())
    return reader(data, fmt, source)


def _read_rdf(data: bytes, fmt: str, source: str) -> Parsed:
    rdf_format = ox.RdfFormat.TURTLE if fmt == "turtle" else ox.RdfFormat.N_TRIPLES
    try:
        # A loop in Python, not list(): the interpreter lock is handed to other threads (the
        # event loop) between quads, instead of being held for the whole parse (0.5 s for 18 MB).
        quads = ox.parse(data, format=rdf_format, base_iri=SUBMISSION_BASE)
        triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    except SyntaxError as e:
        detail = e.msg.removeprefix("Parser error ")
        raise UnusableInput(f"{source}: {fmt} syntax error {detail}", line=e.lineno) from e
    except MemoryError as e:
        raise _token_too_large(source, e) from None
    return Parsed(source, fmt, triples)


# --- JSON and JSON-LD -------------------------------------------------------------------------

_context_cache: dict[str, Any] = {}


def registry_context() -> dict[str, Any]:
    """The registry's JSON-LD context (the value of ``@context``)."""
    if "ctx" not in _context_cache:
        _context_cache["ctx"] = json.loads(context_path().read_text())["@context"]
    context: dict[str, Any] = _context_cache["ctx"]
    return context


def _read_jsonld(data: bytes, fmt: str, source: str) -> Parsed:
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        line = getattr(e, "lineno", None)
        raise UnusableInput(f"{source}: JSON syntax error: {e}", line=line) from e
    except RecursionError as e:  # Python's parser gives up near 1,000 levels, far above ours
        raise UnusableInput(f"{source}: JSON nested deeper than {MAX_JSON_DEPTH} levels") from e
    _check_depth(doc, source)
    if fmt == "json" or not _has_context(doc):
        doc = {"@context": registry_context(), "@graph": doc if isinstance(doc, list) else [doc]}
    doc = _pin_contexts(doc, source)
    origins = _json_origins(doc)
    triples = jsonld_to_triples(doc, source)
    return Parsed(source, fmt, triples, origins)


def jsonld_to_triples(doc: Any, source: str) -> list[ox.Triple]:
    """Expand a JSON-LD document into triples, loading no other document.

    Raises UnusableInput for JSON-LD that is not valid, that has a key or value expanding to an
    invalid IRI or language tag (JSON-LD would drop it silently: a provider's data would go
    missing), or that refers to another document (always with :data:`REMOTE_REFUSED`, whatever
    the reference points at); PayloadTooLarge for one string longer than the parser's buffer.
    """
    text = json.dumps(doc).encode()
    try:
        # lenient: keep what does not expand to a valid IRI, so that it is refused below
        quads = ox.parse(text, format=ox.RdfFormat.JSON_LD, base_iri=SUBMISSION_BASE, lenient=True)
        triples = [_well_formed(ox.Triple(q.subject, q.predicate, q.object)) for q in quads]
    except SyntaxError as e:
        if _NO_LOADER in str(e):
            raise UnusableInput(f"{source}: {REMOTE_REFUSED}") from None
        raise UnusableInput(f"{source}: not valid JSON-LD: {e.msg}") from None
    except ValueError as e:
        raise UnusableInput(f"{source}: not valid JSON-LD: {e}") from None
    except MemoryError as e:
        raise _token_too_large(source, e) from None
    return triples


def _well_formed(triple: ox.Triple) -> ox.Triple:
    """The triple, if its IRIs and language tags are valid. Raises ValueError naming the bad one."""
    for term in (triple.subject, triple.predicate, triple.object):
        if isinstance(term, ox.NamedNode):
            _valid_iri(term.value)
        elif isinstance(term, ox.Literal):
            _valid_iri(term.datatype.value)
            if term.language:
                try:
                    ox.Literal(term.value, language=term.language)
                except ValueError as e:
                    raise ValueError(f"{term.language!r} is not a language tag: {e}") from None
    return triple


def _valid_iri(value: str) -> None:
    try:
        ox.NamedNode(value)
    except ValueError as e:
        raise ValueError(
            f"{value!r} is not a valid IRI (a key or value expands to it): {e}"
        ) from None


def _token_too_large(source: str, error: MemoryError) -> PayloadTooLarge:
    if "buffer maximal size" not in str(error):
        raise error  # the machine is out of memory: not the submitter's doing
    return PayloadTooLarge(
        f"{source}: one IRI, literal or string is longer than {MAX_TOKEN_BYTES} bytes",
        limit=MAX_TOKEN_BYTES,
    )


def _check_depth(doc: Any, source: str) -> None:
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise UnusableInput(f"{source}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def _has_context(doc: Any) -> bool:
    if isinstance(doc, dict):
        return "@context" in doc
    return isinstance(doc, list) and any(isinstance(d, dict) and "@context" in d for d in doc)


def _pin_contexts(node: Any, source: str) -> Any:
    """Replace every reference to the registry's context by the context itself; refuse others."""
    if isinstance(node, list):
        return [_pin_contexts(n, source) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "@context":
            value = _pin_context_value(value, source)
        else:
            value = _pin_contexts(value, source)
        out[key] = value
    return out


def _pin_context_value(value: Any, source: str) -> Any:
    if isinstance(value, list):
        return [_pin_context_value(v, source) for v in value]
    if isinstance(value, str):
        if value == CONTEXT_IRI or value.endswith("/ns/context.jsonld"):
            return registry_context()
        raise UnusableInput(f"{source}: {REMOTE_REFUSED}")
    if isinstance(value, dict):
        return {k: _pin_contexts(v, source) for k, v in value.items()}
    return value


def _json_origins(doc: dict[str, Any]) -> dict[ox.NamedNode | ox.BlankNode, str]:
    origins: dict[ox.NamedNode | ox.BlankNode, str] = {}
    items = doc.get("@graph", [doc])
    for i, item in enumerate(items if isinstance(items, list) else [items], start=1):
        local = item.get("id", item.get("@id")) if isinstance(item, dict) else None
        if isinstance(local, str):
            origins[ox.NamedNode(SUBMISSION_BASE + local)] = f"item {i} (id {local})"
    return origins


# --- CSV --------------------------------------------------------------------------------------


def _read_csv(data: bytes, fmt: str, source: str) -> Parsed:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnusableInput(f"{source}: CSV is not UTF-8 (byte {e.start})") from e
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        triples, origins = rows_to_triples(reader, source)
    except csv.Error as e:  # a field past csv.field_size_limit() (128 KiB), a NUL byte
        raise UnusableInput(f"{source}: CSV error at line {reader.line_num}: {e}") from e
    return Parsed(source, fmt, triples, origins)
