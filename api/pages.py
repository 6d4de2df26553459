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
