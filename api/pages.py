"""Web pages: the home page and the HTML view of records, rendered with Jinja2."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from registry import __version__
from registry.vocab import PREFIXES

router = APIRouter(tags=["Pages"])
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)

KIND_LABELS = {
    "asset": "flexible assets",
    "right-to-operate": "rights to operate",
    "org": "organisations",
    "licence": "scheme licences",
    "agreement": "data-sharing agreements",
    "commercial": "commercial information records",
    "catalogue": "member catalogues",
}

EXAMPLE_QUERY = """PREFIX fdi: <https://w3id.org/fdi/ns#>
PREFIX qudt: <http://qudt.org/schema/qudt/>
SELECT ?technology (COUNT(?asset) AS ?assets) (SUM(?kw) AS ?exportKW)
WHERE {
  ?asset a fdi:FlexibleAsset ; fdi:technology ?technology ;
         fdi:exportCapacity/qudt:numericValue ?kw .
}
GROUP BY ?technology ORDER BY DESC(?assets)"""


def render(template: str, **context: object) -> str:
    return _env.get_template(template).render(version=__version__, **context)


def compact(term: ox.Term) -> str:
    """A term as a person reads it: prefixed name, IRI, or literal text."""
    if isinstance(term, ox.NamedNode):
        for prefix, ns in PREFIXES.items():
            if term.value.startswith(ns) and len(term.value) > len(ns):
                return f"{prefix}:{term.value[len(ns) :]}"
        return term.value
    if isinstance(term, ox.Literal):
        return term.value
    return str(term)


def cell(term: ox.Term, base: str = "") -> dict[str, str | None]:
    """A term for a table cell: its text, and a link for an IRI (a path for the registry's
    own IRIs, so that links stay on the server the page came from)."""
    text = compact(term)
    if isinstance(term, ox.NamedNode):
        return {"text": text, "href": local_href(term.value, base)}
    return {"text": text, "href": None}


def json_cell(binding: dict[str, str] | None, base: str = "") -> dict[str, str | None]:
    """A SPARQL JSON results binding for a table cell (empty when unbound)."""
    if binding is None:
        return {"text": "", "href": None}
    if binding["type"] == "uri":
        return cell(ox.NamedNode(binding["value"]), base)
    if binding["type"] == "bnode":
        return {"text": "_:" + binding["value"], "href": None}
    return {"text": str(binding["value"]), "href": None}


def local_href(iri: str, base: str) -> str | None:
    """Where a link to ``iri`` goes: the path of one of the registry's IRIs, an http(s) IRI as
    it is, nothing for other schemes (urn:, mailto: are not pages)."""
    if base and iri.startswith(base):
        return "/" + iri[len(base) :]
    return iri if iri.startswith(("http://", "https://")) else None


def rows(triples: list[ox.Triple]) -> list[dict[str, object]]:
    return [
        {
            "subject": compact(t.subject),
            "predicate": compact(t.predicate),
            "object": compact(t.object),
            "link": t.object.value if isinstance(t.object, ox.NamedNode) else None,
        }
        for t in triples
    ]


@router.get("/", response_class=HTMLResponse, summary="Home page")
def home(request: Request) -> HTMLResponse:
    registry = request.app.state.registry
    summary = registry.summary()
    return HTMLResponse(
        render(
            "home.html",
            summary=summary,
            labels=KIND_LABELS,
            example_query=EXAMPLE_QUERY,
            example_link="/sparql?query=" + quote(EXAMPLE_QUERY),
        )
    )


def render_record(
    request: Request,
    triples: list[ox.Triple],
    *,
    title: str,
    iri: str | None = None,
    version: int | None = None,
) -> bytes:
    """A record, ontology or shapes document as an HTML page."""
    return render("record.html", title=title, iri=iri, rows=rows(triples)).encode()
