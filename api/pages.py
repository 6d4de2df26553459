"""Web pages for people: the home page with its charts, search, asset lists, and records as
pages (an asset, an organisation, any other record), rendered with Jinja2. Every page works
without JavaScript and asks no other origin for anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from api.auth import requester
from api.negotiation import SUFFIX, format_url, negotiate
from registry import __version__
from registry.base import rdf
from registry.base.identity import Principal
from registry.base.rdf import Term
from registry.base.vocab import DCT, FDI, PREFIXES, RDFS, ROV, sparql_prefixes
from registry.markets import signposting
from registry.publishing import asset_lists, browse
from registry.publishing.search import search as search_records
from registry.publishing.statistics import licence_areas
from registry.rules import rules

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

EXAMPLE_QUERY = (
    sparql_prefixes("fdi", "qudt")
    + """SELECT ?technology (COUNT(?asset) AS ?assets) (SUM(?kw) AS ?exportKW)
WHERE {
  ?asset a fdi:FlexibleAsset ; fdi:technology ?technology ;
         fdi:exportCapacity/qudt:numericValue ?kw .
}
GROUP BY ?technology ORDER BY DESC(?assets)"""
)


def render(template: str, **context: object) -> str:
    """A page; pass ``base`` (the registry's IRI base) so that ``|local`` links its IRIs."""
    return _env.get_template(template).render(software=__version__, **context)


@pass_context
def _local_filter(context: Any, iri: str) -> str:
    """``{{ iri|local }}``: where a link to one of the registry's IRIs goes on this server."""
    return local_href(iri, context.get("base", "")) or iri


_env.filters["local"] = _local_filter


def compact(term: Term) -> str:
    """A term as a person reads it: prefixed name, IRI, or literal text."""
    if isinstance(term, ox.NamedNode):
        for prefix, ns in PREFIXES.items():
            if term.value.startswith(ns) and len(term.value) > len(ns):
                return f"{prefix}:{term.value[len(ns) :]}"
        return term.value
    if isinstance(term, ox.Literal):
        return term.value
    return str(term)


def cell(term: Term, base: str = "") -> dict[str, str | None]:
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


def rows(triples: list[ox.Triple], base: str = "") -> list[dict[str, object]]:
    """A document's statements for a table, each term with its link."""
    return [
        {
            "subject": cell(t.subject, base),
            "predicate": cell(t.predicate, base),
            "object": cell(t.object, base),
        }
        for t in triples
    ]


@router.get("/", response_class=HTMLResponse, summary="Home page")
def home(request: Request) -> HTMLResponse:
    registry = request.app.state.registry
    summary = registry.summary()
    names = asset_lists.technologies_by_name()
    for row in summary.technologies:
        row["name"] = names.get(str(row["technology"]), row["technology"])
    return HTMLResponse(
        render(
            "home.html",
            summary=summary,
            labels=KIND_LABELS,
            example_query=EXAMPLE_QUERY,
            example_link="/sparql?query=" + quote(EXAMPLE_QUERY),
            by_technology=bars(
                summary.technologies,
                "name",
                {"import_mw": "import", "mw": "export"},
                "/assets?technology={technology}",
                "MW",
            ),
            by_area=bars(summary.areas, "area", {"assets": "assets"}, "/assets?area={gsp}"),
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
    """A record as a person reads it: an asset or organisation page for those, else the
    record's statements with labels and links (ontology, shapes, catalogue, other records)."""
    registry = request.app.state.registry
    base = registry.settings.base_iri
    info = registry.info(iri) if iri else None
    context = {
        "base": base,
        "iri": iri,
        "path": local_href(iri, base) if iri else None,
        "record_version": version,
        "rows": rows(triples, base),
        "formats": formats_links(request),
    }
    if info is not None and version is not None and request.url.path == local_href(iri or "", base):
        principal = requester(request)
        if info.type == FDI.FlexibleAsset.value:
            return _asset_page(request, triples, principal, context)
        if info.type == FDI.Organisation.value:
            view = browse.organisation(registry, iri or "", triples, principal)
            return render("organisation.html", title=view["name"], org=view, **context).encode()
        context["history"] = registry.history(iri, principal)
        title = _label(triples, iri or "") or title
    return render("record.html", title=title, **context).encode()


def _asset_page(
    request: Request, triples: list[ox.Triple], principal: Principal, context: dict[str, Any]
) -> bytes:
    registry = request.app.state.registry
    iri = context["iri"]
    view = browse.asset(registry, iri, triples, principal)
    markets = signposting.check(triples, iri, registry.settings.base_iri, rules.in_force(registry))
    return render(
        "asset.html",
        title=view.label,
        asset=view,
        history=registry.history(iri, principal),
        markets=markets,
        **context,
    ).encode()


def formats_links(request: Request) -> list[dict[str, str]]:
    """Links to this page in each RDF format (its ``?format=`` URLs), for the pages' footers."""
    names = {"ttl": "Turtle", "nt": "N-Triples", "jsonld": "JSON-LD", "rdf": "RDF/XML"}
    return [
        {"name": names[suffix], "type": media, "href": format_url(request, suffix)}
        for media, suffix in SUFFIX.items()
        if suffix in names
    ]


def _label(triples: list[ox.Triple], iri: str) -> str | None:
    for predicate in (RDFS.label, ROV.legalName, DCT.title):
        for t in triples:
            if rdf.value(t.subject) == iri and t.predicate == predicate:
                return rdf.value(t.object)
    return None


@router.get("/search", response_class=HTMLResponse, summary="Search page (name, keys, postcode)")
def search(
    request: Request,
    q: str = Query("", max_length=200, description="A name, company number, LEI, MPAN or postcode"),
) -> HTMLResponse:
    """Organisations and assets whose name, company number, LEI, MPAN or postcode matches."""
    registry = request.app.state.registry
    found = search_records(registry, requester(request), q) if q.strip() else None
    base = registry.settings.base_iri
    return HTMLResponse(render("search.html", found=found, search_text=q, base=base))


@router.get(
    "/assets",
    summary="Flexible assets, filtered and paged (HTML page, or JSON)",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/json": {}}}},
)
def asset_list(
    request: Request,
    technology: str | None = Query(None, description="A technology, e.g. BatteryStorage"),
    area: str | None = Query(None, description="A licence area's GSP group, e.g. _K"),
    status: str | None = Query(None, description="Planned, Commissioned or Decommissioned"),
    operator: str | None = Query(None, description="The operating organisation's IRI"),
    page: int = Query(1, ge=1, le=100_000),
) -> Response:
    """The assets the requester may see, 50 a page, by name."""
    registry = request.app.state.registry
    principal = requester(request)
    given = {"technology": technology, "area": area, "status": status, "operator": operator}
    given = {k: v for k, v in given.items() if v}
    listed = asset_lists.assets(
        registry, principal, asset_lists.asset_filters(registry, **given), page
    )
    media = negotiate(request.headers.get("accept"), ["text/html", "application/json"])
    if media == "application/json":
        return JSONResponse({**listed, "filters": given}, headers={"Vary": "Accept"})
    query = urlencode(given)
    return HTMLResponse(
        render(
            "assets.html",
            title="Flexible assets",
            listed=listed,
            given=given,
            query=query,
            technologies=asset_lists.technologies(),
            statuses=asset_lists.statuses(),
            areas=sorted(licence_areas().items()),
            operators=asset_lists.organisations(registry, principal),
            base=registry.settings.base_iri,
        ),
        headers={"Vary": "Accept"},
    )


def bars(
    rows: list[dict[str, Any]],
    label: str,
    values: dict[str, str],
    href: str,
    unit: str = "",
) -> dict[str, Any]:
    """A horizontal bar chart (inline SVG, drawn by the template): for each row one bar per
    series in ``values`` (key → series name), with its text, width (of 100) and link."""
    top = max((float(r[k]) for r in rows for k in values), default=0.0) or 1.0
    step = 8 + 18 * len(values)
    out = []
    for i, r in enumerate(rows):
        for j, (key, series) in enumerate(values.items()):
            amount = float(r[key])
            text = f"{amount:,.1f} {unit}".strip() if unit else f"{r[key]:,}"
            out.append(
                {
                    "label": r[label] if j == 0 else "",
                    "name": f"{r[label]}, {series}: {text}",
                    "text": text,
                    "series": j,
                    "width": round(100 * amount / top, 2),
                    "href": href.format(**r),
                    "y": i * step + j * 18,
                }
            )
    return {"bars": out, "height": step * len(rows), "series": list(values.values())}
