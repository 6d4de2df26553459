"""The change feeds (registry.publishing.feed, api/feed.py): followed over real TLS with a plain
HTTP client
from the first page, each into its own ``oxigraph serve`` (not the registry's store), and the
copy compared with what the registry serves through /sparql; then followed again after changes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from registry.assets.assets import register_assets
from registry.markets import sharing
from registry.publishing.feed import Feed
from registry.submissions.formats import read_bytes
from tests.conftest import EXAMPLES
from tests.servers import oxigraph_binary, oxigraph_server
from tests.tls_world import World, tls_world

TREE = "https://w3id.org/tree#"
ISVERSIONOF = ox.NamedNode("http://purl.org/dc/terms/isVersionOf")
SEQ = ox.NamedNode("https://w3id.org/fdi/ns#journalSequence")
EVERYTHING = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"

pytestmark = pytest.mark.skipif(oxigraph_binary() is None, reason="needs the oxigraph server")


class Follower:
    """An LDES client: follows a stream's pages with a plain HTTP client and keeps the latest
    version of each record in its own SPARQL store (one named graph per record)."""

    def __init__(self, client: httpx.Client, store: str) -> None:
        self.client = client
        self.store = store
        self.resume: str | None = None
        self.fetched: list[str] = []

    def follow(self, stream: str) -> None:
        url = self.resume or self._view(stream)
        while True:
            page = self._get(url)
            members = [
                q.object for q in page.quads_for_pattern(None, ox.NamedNode(TREE + "member"), None)
            ]
            for member in sorted(members, key=lambda m: _order(page, m)):
                self._apply(page, member)
            following = [
                q.object for q in page.quads_for_pattern(None, ox.NamedNode(TREE + "node"), None)
            ]
            if not following:
                self.resume = url  # the open page: read it again next time
                return
            url = following[0].value

    def triples(self) -> set[ox.Triple]:
        answer = httpx.post(
            self.store + "/query",
            data={"query": "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"},
            headers={"Accept": "application/n-triples"},
        )
        return set(ox.parse(answer.content, format=ox.RdfFormat.N_TRIPLES))

    def _view(self, stream: str) -> str:
        root = self._get(stream)
        return next(root.quads_for_pattern(None, ox.NamedNode(TREE + "view"), None)).object.value

    def _get(self, url: str) -> ox.Store:
        self.fetched.append(url)
        answer = self.client.get(url, headers={"Accept": "application/n-quads"})
        assert answer.status_code == 200, answer.text
        page = ox.Store()
        page.extend(ox.parse(answer.content, format=ox.RdfFormat.N_QUADS))
        return page

    def _apply(self, page: ox.Store, member: ox.Term) -> None:
        record = next(page.quads_for_pattern(member, ISVERSIONOF, None)).object
        content = " ".join(
            f"{q.subject} {q.predicate} {q.object} ."
            for q in page.quads_for_pattern(None, None, None, member)
        )
        update = f"DROP SILENT GRAPH {record} ; INSERT DATA {{ GRAPH {record} {{ {content} }} }}"
        answer = httpx.post(self.store + "/update", data={"update": update})
        assert answer.status_code in (200, 204), answer.text


def _order(page: ox.Store, member: ox.Term) -> tuple[int, str]:
    return int(next(page.quads_for_pattern(member, SEQ, None)).object.value), member.value


def registry_triples(client: httpx.Client, query: str = EVERYTHING) -> set[ox.Triple]:
    answer = client.post(
        "/sparql", data={"query": query}, headers={"Accept": "application/n-triples"}
    )
    assert answer.status_code == 200, answer.text
    return set(ox.parse(answer.content, format=ox.RdfFormat.N_TRIPLES))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with tls_world(tmp_path, feed_page_size=3) as w:
        yield w


@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    with oxigraph_server(tmp_path / "follower") as url:
        yield url


def _asset(world: World, owner) -> str:  # type: ignore[no-untyped-def]
    parsed = read_bytes((EXAMPLES / "asset.ttl").read_bytes(), "turtle", source="asset.ttl")
    return next(iter(register_assets(world.registry, parsed, owner.principal).ids.values()))


def _share(world: World, by, to, asset: str) -> str:  # type: ignore[no-untyped-def]
    body = {
        "type": "DataSharingAgreement",
        "id": "agreement",
        "assignee": [to.iri],
        "target": [asset],
        "permission": {
            "action": "use",
            "constraint": {
                "leftOperand": "purpose",
                "operatorSymbol": "eq",
                "rightOperand": "fdi:FlexibilityProcurement",
            },
        },
    }
    parsed = read_bytes(json.dumps(body).encode(), "json", source="agreement")
    return sharing.make_agreement(world.registry, parsed, by.principal).records[0]["id"]


def test_a_follower_of_the_public_feed_holds_what_the_registry_publishes(
    world: World, store: str
) -> None:
    fsp = world.member("Example Flex Ltd", "SC123456")
    world.member("North DSO plc", "01234567", roles=["DistributionSystemOperator"])
    _asset(world, fsp)
    anonymous = world.client()
    follower = Follower(anonymous, store)
    follower.follow("/feed/public")
    published = registry_triples(anonymous)
    assert len(follower.fetched) > 3  # the root and several pages
    assert published and follower.triples() == published


def test_following_again_fetches_from_the_open_page_and_catches_up(
    world: World, store: str
) -> None:
    world.member("Example Flex Ltd", "SC123456")
    anonymous = world.client()
    follower = Follower(anonymous, store)
    follower.follow("/feed/public")
    resume = follower.resume
    world.member("South DSO plc", "07654321", roles=["DistributionSystemOperator"])
    world.member("Flex Market Ltd", "09999999", roles=["MarketOperator"])
    follower.fetched.clear()
    follower.follow("/feed/public")
    assert follower.fetched[0] == resume and len(follower.fetched) > 1
    assert follower.triples() == registry_triples(anonymous)


def test_a_follower_of_the_shared_feed_holds_what_is_shared_and_loses_what_is_withdrawn(
    world: World, store: str
) -> None:
    fsp = world.member("Example Flex Ltd", "SC123456")
    dso = world.member("North DSO plc", "01234567", roles=["DistributionSystemOperator"])
    asset = _asset(world, fsp)
    agreement = _share(world, fsp, dso, asset)
    client = world.client(dso)
    shared = f"GRAPH <{world.base}graph/shared/{dso.uid}> {{ ?s ?p ?o }}"
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {shared} }}"
    follower = Follower(client, store)
    follower.follow(f"/feed/shared/{dso.uid}")
    copy = follower.triples()
    assert ox.NamedNode(asset) in {t.subject for t in copy}
    assert copy == registry_triples(client, query)
    sharing.withdraw(world.registry, fsp.principal, agreement)
    follower.follow(f"/feed/shared/{dso.uid}")
    assert follower.triples() == registry_triples(client, query) == set()
    reads = [
        event
        for entry in world.registry.journal.entries()
        for event in entry.payload.get("events", [])
        if event.get("action") == "read" and event.get("target") == asset
    ]
    assert reads and {e["organisation"] for e in reads} == {dso.iri}  # the FSP is told


def test_a_rival_reads_neither_anothers_shared_feed_nor_private_records_in_the_public_one(
    world: World,
) -> None:
    fsp = world.member("Example Flex Ltd", "SC123456")
    dso = world.member("North DSO plc", "01234567", roles=["DistributionSystemOperator"])
    rival = world.member("South DSO plc", "07654321", roles=["DistributionSystemOperator"])
    asset = _asset(world, fsp)
    _share(world, fsp, dso, asset)
    head = world.registry.journal.head()
    for who in (world.client(rival), world.client()):
        for path in (f"/feed/shared/{dso.uid}", f"/feed/shared/{dso.uid}/0"):
            assert who.get(path).status_code in (401, 403)
    own = world.client(rival).get(f"/feed/shared/{rival.uid}/0")
    assert own.status_code == 200 and asset not in own.text
    public = world.client()
    for number in range(
        len(Feed(world.registry).public().feed.members(f"{world.base}graph/public")) // 3 + 1
    ):
        page = public.get(f"/feed/public/{number}")
        assert page.status_code == 200 and asset not in page.text
    # The rival's two refusals are audited (anonymous ones have no organisation to audit
    # under); no record or copy changed.
    added = [e.payload for e in world.registry.journal.entries(head[0])]
    assert [event["action"] for p in added for event in p["events"]] == ["refused"] * 2
    assert not any(p.get("records") or p.get("copies") for p in added)


def test_a_full_page_is_immutable_and_the_open_page_is_revalidated(world: World) -> None:
    world.member("Example Flex Ltd", "SC123456")
    client = world.client()
    full, open_page = client.get("/feed/public/0"), None
    number = 0
    while True:
        answer = client.get(f"/feed/public/{number}")
        if "immutable" not in answer.headers["cache-control"]:
            open_page = answer
            break
        number += 1
    assert "immutable" in full.headers["cache-control"]
    # at most a day: an erasure of personal data changes the pages that held the values
    assert "max-age=86400" in full.headers["cache-control"]
    assert "no-cache" in open_page.headers["cache-control"]
    again = client.get(
        f"/feed/public/{number}", headers={"If-None-Match": open_page.headers["etag"]}
    )
    assert again.status_code == 304
    assert client.get(f"/feed/public/{number + 1}").status_code == 404
    world.member("North DSO plc", "01234567", roles=["DistributionSystemOperator"])
    assert client.get("/feed/public/0").content == full.content  # later changes leave it be


def test_retention_drops_whole_old_pages_and_the_view_starts_after_them(world: World) -> None:
    world.member("Example Flex Ltd", "SC123456")
    client = world.client()
    description = client.get("/feed/public").text
    assert "DurationAgoPolicy" in description and '"P365D"' in description
    assert f"{world.base}feed/public/0" in description
    feed = Feed(world.registry)
    last = (len(feed.members(f"{world.base}graph/public")) - 1) // 3
    assert last > 0
    feed.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=400)  # retention: 365
    world.app.state.feed = feed
    assert client.get("/feed/public/0").status_code == 410
    assert client.get(f"/feed/public/{last}").status_code == 200  # the last page stays
    assert f"{world.base}feed/public/{last}>" in client.get("/feed/public").text
