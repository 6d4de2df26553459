"""The authorisation matrix: every operation of the OpenAPI document, tried by every kind of
principal, with real certificates the registry issued; the outcome must be the one the table
(``registry.kernel.authorisation_rules.RULES`` through ``api.authorisation.OPERATIONS``) gives,
and a refused request must change nothing.

Requests that the table admits carry a body that cannot be parsed, so they stop at validation
(400/415/422) or at a missing thing (404) and the world stays as built; the oracle below reads
the table and the relations the world was built with, not the code that applies them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import pytest
import rdflib
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.authorisation import OPERATIONS
from registry.assets.claims import claim_right, decide
from registry.base.identity import SCHEME_OPERATOR
from registry.base.vocab import FDI
from registry.kernel.authorisation_rules import ANYONE, MEMBER, RULES
from registry.operations.demo_identifiers import mpan_core
from registry.submissions.formats import read_bytes
from registry.trust import organisations
from tests.conftest import BASE, EXAMPLES, ROOT, new_app
from tests.trust import Member, Onboarding

ASSET = (EXAMPLES / "asset.ttl").read_text()
RIGHT = """@prefix fdi: <https://w3id.org/fdi/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<#r> a fdi:RightToOperate ; fdi:asset <{asset}> ; fdi:operator <{operator}> ;
  fdi:validFrom "{start}"^^xsd:date ; {extra} fdi:assetOwner "Household" ;
  fdi:consentEvidence <urn:uuid:6f1c2a7e-3b8d-4e7a-9c51-2d0f4b8e1a11> .
"""
ROLES = ("MarketOperator", "DistributionSystemOperator", "TransmissionSystemOperator")
ROLES += ("AssetOwner", "Installer", "Manufacturer", "StandardsBody")
KINDS = (
    "anonymous",
    "suspended",
    "scheme-operator",
    "other-fsp",
    *ROLES,
    "fsp-without-scope",
    "owner",
    "owner-administrator",
    "operator",
)


@dataclass
class World:
    app: object
    certificates: dict[str, str | None]  # kind -> PEM (None: anonymous)
    records: dict[str, str]  # name -> IRI
    relations: dict[tuple[str, str], set[str]]  # (kind, record IRI) -> relations, as built
    params: dict[str, str]

    @property
    def registry(self):  # type: ignore[no-untyped-def]
        return self.app.state.registry  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    app = new_app()
    with TestClient(app):
        yield _build(app)


def _build(app) -> World:  # type: ignore[no-untyped-def]
    on = Onboarding.of(app)
    registry = app.state.registry
    numbers = iter(range(20_000_001, 20_099_999))

    def member(name: str, **kwargs) -> Member:  # type: ignore[no-untyped-def]
        return on.member(name, f"{next(numbers):08d}", **kwargs)

    owner, operator, other = member("Owner Flex"), member("Operator Flex"), member("Other Flex")
    narrow = member("Narrow Flex", scopes=["messages-send"])
    suspended = member("Suspended Flex")
    by_role = {role: member(f"{role} Ltd", roles=[role]) for role in ROLES}
    body = ASSET.replace("2143967712809", mpan_core(21, 55_000_001))
    from registry.assets.assets import register_assets

    asset = register_assets(registry, read_bytes(body.encode(), "turtle"), owner.principal).ids[
        "battery-cardiff-1"
    ]
    held = RIGHT.format(asset=asset, operator=owner.iri, start="2025-01-01", extra="")
    old = register_assets(registry, read_bytes(held.encode(), "turtle"), owner.principal).ids["r"]
    switch = RIGHT.format(
        asset=asset, operator=operator.iri, start="2026-01-01", extra=f"fdi:takesOver <{old}> ;"
    )
    first = claim_right(registry, read_bytes(switch.encode(), "turtle"), operator.principal)
    decide(registry, owner.principal, first["id"], confirm=True)  # type: ignore[index]
    again = RIGHT.format(
        asset=asset,
        operator=other.iri,
        start="2026-06-01",
        extra=f"fdi:takesOver <{_current(registry, asset)}> ;",
    )
    pending = claim_right(registry, read_bytes(again.encode(), "turtle"), other.principal)
    organisations.suspend(registry, on.operator, suspended.iri, "matrix")
    certificates = {
        "anonymous": None,
        "suspended": suspended.certificate,
        "scheme-operator": on.operator_certificate,
        "other-fsp": other.certificate,
        "fsp-without-scope": narrow.certificate,
        "owner": owner.certificate,
        "owner-administrator": owner.admin_certificate,
        "operator": operator.certificate,
        **{role: m.certificate for role, m in by_role.items()},
    }
    claim = pending["id"]  # type: ignore[index]
    serial = owner.principal.certificate_serial or ""
    certificate = f"{BASE}id/certificate/{serial.lower()}"
    records = {"asset": asset, "org": owner.iri, "claim": claim, "certificate": certificate}
    records["membership"] = owner.membership or ""
    relations: dict[tuple[str, str], set[str]] = {}
    for iri in (owner.iri, owner.membership or "", certificate):
        relations[("owner", iri)] = relations[("owner-administrator", iri)] = {"owner"}
    relations[("owner", asset)] = relations[("owner-administrator", asset)] = {"owner"}
    relations[("operator", asset)] = relations[("operator", claim)] = {"operator"}
    relations[("other-fsp", claim)] = {"owner"}
    params = {
        "kind": "asset",
        "uid": asset.rsplit("/", 1)[-1],
        "slug": "fdi",
        "version": "1.0",
        "user": "nobody",
        "serial": serial,
        "job_id": "no-such-job",
        "number": "1",
        "name": "fdi",
        "path": "public",
        "step": "acknowledge",
        "hook": "wh_" + "0" * 32,
        "page": "0",
    }
    return World(app, certificates, records, relations, params)


def _current(registry, asset: str) -> str:  # type: ignore[no-untyped-def]
    from registry.trust.control import current_right

    found = current_right(registry, asset)
    assert found
    return found


# --- what each operation is tried on ------------------------------------------------------

# The record each path's {uid} names; every other operation's {uid} names the asset.
_UID_OF = {
    "/organisations/": "org",
    "/id/org/": "org",
    "/feed/shared/": "org",
    "/memberships/": "membership",
    "/claims/": "claim",
    "/catalogues/": None,
    "/agreements/": None,
}


def _target(world: World, path: str) -> str | None:
    for prefix, name in _UID_OF.items():
        if path.startswith(prefix):
            return world.records[name] if name else None
    if "{serial}" in path:
        return world.records["certificate"]
    return world.records["asset"] if "{uid}" in path else None


def _url(world: World, path: str) -> str:
    target = _target(world, path)
    params = dict(world.params)
    params["uid"] = target.rsplit("/", 1)[-1] if target else "no-such-record"
    if path.startswith("/id/org/"):
        params["number"] = "999999"
    url = path.format(**params)
    if path.endswith("/as-of"):
        url += "?time=2030-01-01T00:00:00Z"
    return url


# --- the oracle: the table, read independently of the code that applies it ---------------

# Reads whose visibility the record's graphs decide: the asset is in its owner's graph, and
# its current operator reads it there (the scheme operator does not read members' assets).
_VISIBLE = {"owner", "owner-administrator", "operator"}


def expected(world: World, method: str, path: str, kind: str, principal) -> str:  # type: ignore[no-untyped-def]
    """'allow', 'refuse' (401/403) or 'hidden' (404) for one request."""
    if kind == "suspended":
        return "refuse"
    operation = OPERATIONS[(method, path)]
    target = _target(world, path) if operation.record is not None else None
    info = world.registry.info(target) if target else None
    record_type = info.type if info else None
    rule = RULES[operation.action_for(record_type)]
    if kind == "anonymous":
        if ANYONE not in rule.who:
            return "refuse"
    else:
        roles = rule.who - {ANYONE, MEMBER}
        if roles and not roles & principal["roles"]:
            return "refuse"
        operator = SCHEME_OPERATOR in principal["roles"]
        if rule.scopes and not operator and not rule.scopes & principal["scopes"]:
            return "refuse"
        if rule.relations and target and record_type:
            mine = set(world.relations.get((kind, target), set()))
            if kind == "scheme-operator":
                mine.add("scheme-operator")
            if record_type == FDI.Organisation.value and _may_message(principal["roles"]):
                mine.add("may-message")
            if not rule.relations & mine:
                return "refuse"
    if operation.action == "record.read" and "{uid}" in path:  # the private asset
        if kind not in _VISIBLE:
            return "hidden"
        private = RULES["asset.read-private"]
        if not private.scopes & principal["scopes"]:
            return "refuse"
    return "allow"


@lru_cache(maxsize=1)
def _may_message_fsp() -> frozenset[str]:
    graph = rdflib.Graph().parse(ROOT / "ontology" / "fdi.ttl")
    return frozenset(
        str(s)
        for s, o in graph.subject_objects(rdflib.URIRef(FDI.mayMessage.value))
        if str(o) == FDI.FlexibilityServiceProvider.value
    )


def _may_message(roles: set[str]) -> bool:
    """Whether these roles may message the target organisation (an FSP), by the ontology's
    ``fdi:mayMessage`` statements read with rdflib."""
    return bool(roles & _may_message_fsp())


def _snapshot(world: World) -> str:
    rows = world.registry.journal.read("SELECT iri, version, status FROM record ORDER BY iri")
    told = world.registry.journal.read("SELECT count(*) FROM notification")
    return hashlib.sha256(repr((rows, told)).encode()).hexdigest()


def _operations() -> list[tuple[str, str]]:
    app = new_app()
    spec = app.openapi()
    app.state.registry.close()
    return sorted((m.upper(), p) for p, ops in spec["paths"].items() for m in ops)


OPERATION_LIST = _operations()


def _hidden_routes() -> set[tuple[str, str]]:
    """Routes the gate sees that the OpenAPI document leaves out (Swagger UI's pages)."""
    app = new_app()
    app.state.registry.close()
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute) and not route.include_in_schema
        for method in route.methods
        if method != "HEAD"
    }


def test_every_openapi_operation_has_a_rule() -> None:
    assert set(OPERATION_LIST) | _hidden_routes() == set(OPERATIONS)
    assert {o.action_for(None) for o in OPERATIONS.values()} <= set(RULES)


@pytest.fixture(scope="module")
def principals(world: World) -> dict[str, dict]:  # type: ignore[type-arg]
    """Each kind's roles and scopes, as the registry reads them from its certificate."""
    from api.tls import with_client_certificate

    found = {}
    for kind, pem in world.certificates.items():
        client = TestClient(with_client_certificate(world.app, pem) if pem else world.app)
        who = client.get("/whoami")
        found[kind] = (
            {"roles": set(), "scopes": set()}
            if who.status_code != 200
            else {
                "roles": {_role_iri(r) for r in who.json()["roles"]},
                "scopes": {FDI["scope-" + s].value for s in who.json()["scopes"]},
            }
        )
    return found


def _role_iri(name: str) -> str:
    return FDI[name].value


@pytest.mark.parametrize("kind", KINDS)
def test_every_operation_decides_as_the_table_says(
    world: World, principals: dict, kind: str
) -> None:
    from api.tls import with_client_certificate

    principal = principals[kind]
    pem = world.certificates[kind]
    client = TestClient(with_client_certificate(world.app, pem) if pem else world.app)
    wrong = []
    for method, path in OPERATION_LIST:
        want = expected(world, method, path, kind, principal)
        before = _snapshot(world)
        response = client.request(
            method,
            _url(world, path),
            content=b"[]",
            headers={"Content-Type": "application/x-matrix", "Accept": "application/json"},
            follow_redirects=False,
        )
        got = (
            "refuse"
            if response.status_code in (401, 403)
            else "hidden"
            if response.status_code == 404 and want == "hidden"
            else "allow"
        )
        if got != want:
            wrong.append(f"{method} {path}: {response.status_code}, table says {want}")
        if got == "refuse":
            assert _snapshot(world) == before, f"{method} {path} refused but changed something"
    assert not wrong, "\n".join(wrong)


def test_the_documented_table_is_the_table() -> None:
    from registry.kernel.authorisation import table

    assert table() in (ROOT / "docs" / "authorisation.md").read_text()
