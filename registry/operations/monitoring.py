"""Endpoint monitoring: the data services and distributions members register in their
catalogues, checked on a schedule, the results published as DQV measurements.

What is checked is only what members registered: the ``dcat:endpointURL`` of each
``dcat:DataService`` and the ``dcat:downloadURL`` (else ``dcat:accessURL``) of each
``dcat:Distribution`` in a member catalogue. Nothing else is ever contacted: redirects are not
followed (a redirect is reported, not chased), every check is over within ``monitor_timeout``
(registry.base.outbound), and at most ``MAX_BODY`` bytes are read. Hosts resolving into
``monitor_denied_networks`` (by default loopback, private and link-local ranges, where a member
could otherwise point the registry at the operator's own network) are not contacted: the
endpoint is ``refused``.

Each check measures reachability, latency, the TLS certificate (valid for the host, and days
left before it expires) and whether the media type served is the one declared. The state of an
endpoint is the first that applies of ``refused``, ``down``, ``certificate-invalid``,
``wrong-media-type``, ``certificate-expiring`` (fewer than ``monitor_certificate_days`` left),
``slow`` (slower than ``monitor_slow_ms``), ``up``.

Results go into the public directory as one record per endpoint (``{base}id/endpoint/{hash}``,
an ``fdi:EndpointReport`` holding ``dqv:QualityMeasurement`` nodes); each check is a new
version of it, so the journal keeps the history. The publisher is
notified (inbox) when its endpoint enters a failing state or its certificate nears expiry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import ssl
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pyoxigraph as ox

from registry.base import iris, rdf
from registry.base.activities import notification as activity
from registry.base.clock import utcnow
from registry.base.errors import Forbidden, NotFound, Unauthenticated
from registry.base.identity import Principal
from registry.base.outbound import REQUEST_FAILURES, denied
from registry.base.outbound import client as outbound_client
from registry.base.vocab import DQV, FDI, PROV, RDF, XSD, sparql_prefixes
from registry.kernel import access
from registry.kernel.lifecycle import content, text

if TYPE_CHECKING:
    from registry.kernel.core import Registry

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
FAILING = ("down", "certificate-invalid", "wrong-media-type", "certificate-expiring", "refused")
IANA = "https://www.iana.org/assignments/media-types/"

REGISTERED_ENDPOINTS = (
    sparql_prefixes("dcat", "dct", "fdi")
    + """
SELECT DISTINCT ?publisher ?node ?url ?mediaType WHERE {
  ?catalogue a fdi:MemberCatalogue ; dct:publisher ?publisher .
  {
    ?catalogue dcat:service ?node . ?node dcat:endpointURL ?url .
  } UNION {
    ?catalogue dcat:dataset/dcat:distribution ?node .
    OPTIONAL { ?node dcat:downloadURL ?download }
    OPTIONAL { ?node dcat:accessURL ?access }
    BIND (COALESCE(?download, ?access) AS ?url)
    FILTER (BOUND(?url))
  }
  OPTIONAL { ?node dcat:mediaType ?mediaType }
}
"""
)


@dataclass(frozen=True)
class Endpoint:
    """A registered endpoint: who published it, the catalogue node, its URL and media type."""

    publisher: str
    node: str
    url: str
    media_type: str | None
    audience: str = ""  # the graph the catalogue (and so the report) is published in

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.node} {self.url}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Check:
    """What one check of one endpoint found."""

    endpoint: Endpoint
    state: str
    reachable: bool
    status: int | None
    latency_ms: float | None
    served_type: str | None
    media_type_ok: bool | None
    certificate_valid: bool | None
    certificate_expires: dt.datetime | None
    detail: str
    checked: dt.datetime


def registered_endpoints(registry: Registry) -> list[Endpoint]:
    """Every endpoint registered in a member catalogue, public or members-only (its report is
    published to the same audience as the catalogue)."""
    base = registry.settings.base_iri
    out = []
    for graph in (access.public_graph(base), access.members_graph(base)):
        for row in rdf.solutions(registry.index.query(REGISTERED_ENDPOINTS, [graph])):
            url = row["url"].value
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            media = row["mediaType"]
            declared = media.value.removeprefix(IANA) if media is not None else None
            publisher, node = row["publisher"].value, row["node"].value
            out.append(Endpoint(publisher, node, url, declared, graph.value))
    return sorted(set(out), key=lambda e: (e.publisher, e.url))


def probe(endpoint: Endpoint, settings: Any, now: dt.datetime | None = None) -> Check:
    """Check one endpoint (GET, no redirects followed, ``monitor_timeout`` seconds). An endpoint
    whose host resolves into ``monitor_denied_networks`` is not contacted at all."""
    now = now or utcnow()
    inside = denied(endpoint.url, settings.monitor_denied_networks, within=settings.monitor_timeout)
    if inside:
        return _failed(endpoint, now, "refused", f"not contacted: {inside} is a denied address")
    started = time.perf_counter()
    try:
        with (
            outbound_client(
                settings.monitor_denied_networks, settings.monitor_ca_file, settings.monitor_timeout
            ) as client,
            client.stream("GET", endpoint.url, headers={"User-Agent": "fdi-registry-monitor"}) as r,
        ):
            latency = (time.perf_counter() - started) * 1000
            expires = _peer_expiry(r)
            read = 0
            for chunk in r.iter_bytes():
                read += len(chunk)
                if read >= MAX_BODY:
                    break
    except httpx.TimeoutException:
        return _failed(endpoint, now, "down", f"no answer within {settings.monitor_timeout} s")
    except httpx.ConnectError as e:
        if "CERTIFICATE_VERIFY_FAILED" in str(e):
            reason = str(e).split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0]
            return _failed(
                endpoint, now, "certificate-invalid", f"TLS: {reason.strip()}", tls=False
            )
        return _failed(endpoint, now, "down", f"cannot connect: {e}")
    except REQUEST_FAILURES as e:
        return _failed(endpoint, now, "down", f"{type(e).__name__}: {e}")
    served = (r.headers.get("content-type") or "").split(";", 1)[0].strip().lower() or None
    media_ok = None if endpoint.media_type is None else served == endpoint.media_type.lower()
    days_left = (expires - now).days if expires else None
    if r.status_code >= 300:
        state, detail = "down", f"HTTP {r.status_code}"
    elif media_ok is False:
        state, detail = "wrong-media-type", f"serves {served}, declared {endpoint.media_type}"
    elif days_left is not None and days_left < settings.monitor_certificate_days:
        state, detail = "certificate-expiring", f"TLS certificate expires in {days_left} days"
    elif latency > settings.monitor_slow_ms:
        state, detail = "slow", f"answered in {latency:.0f} ms"
    else:
        state, detail = "up", f"answered in {latency:.0f} ms"
    return Check(
        endpoint,
        state,
        r.status_code < 300,
        r.status_code,
        round(latency, 1),
        served,
        media_ok,
        True if expires else None,
        expires,
        detail,
        now,
    )


def _probe_safely(endpoint: Endpoint, settings: Any, now: dt.datetime | None) -> Check:
    """:func:`probe`; a failure it did not foresee is the endpoint's, not the round's."""
    try:
        return probe(endpoint, settings, now)
    except Exception as e:  # noqa: BLE001 - one member's odd URL must not stop everyone's round
        log.exception("checking %s failed unexpectedly", endpoint.url)
        return _failed(endpoint, now or utcnow(), "down", f"the check failed: {type(e).__name__}")


def check_all(registry: Registry, now: dt.datetime | None = None) -> list[Check]:
    """Check every registered endpoint and publish the results (one journal entry)."""
    checks = [_probe_safely(e, registry.settings, now) for e in registered_endpoints(registry)]
    if not checks:
        return checks
    with registry.transaction("registry", "endpoint-monitoring") as tx:
        for check in checks:
            iri = ox.NamedNode(report_iri(registry, check.endpoint))
            before = tx.info(iri.value)
            previous = (
                text(content(registry, iri.value), iri, FDI.endpointState) if before else None
            )
            tx.put(
                iri,
                FDI.EndpointReport,
                measurements(iri, check),
                graph=ox.NamedNode(check.endpoint.audience or registry.public_graph.value),
                owner=check.endpoint.publisher,
            )
            if check.state in FAILING and check.state != previous:
                tx.notify(
                    check.endpoint.publisher,
                    activity(
                        "Announce",
                        None,
                        iri.value,
                        f"Action needed: your endpoint {check.endpoint.url} is "
                        f"{check.state}: {check.detail}",
                        name=f"endpoint-{check.state}",
                    ),
                )
    return checks


def check_now(registry: Registry, principal: Principal) -> list[dict[str, Any]]:
    """The scheme operator runs a round of checks now; returns the reports. Raises
    Unauthenticated, Forbidden."""
    if not principal.authenticated:
        raise Unauthenticated("this needs the scheme operator's certificate")
    if not principal.is_scheme_operator:
        raise Forbidden("only the scheme operator may start a round of endpoint checks")
    check_all(registry)
    return reports(registry, principal)


def report_iri(registry: Registry, endpoint: Endpoint) -> str:
    return iris.endpoint(registry.settings.base_iri, endpoint.digest)


def measurements(iri: ox.NamedNode, check: Check) -> list[ox.Triple]:
    """The report as DQV: one ``dqv:QualityMeasurement`` per metric, computed on the
    catalogue's node."""
    node = ox.NamedNode(check.endpoint.node)
    at = ox.Literal(check.checked.isoformat(timespec="seconds"), datatype=XSD.dateTime)
    triples = [
        ox.Triple(iri, RDF.type, FDI.EndpointReport),
        ox.Triple(iri, FDI.monitors, node),
        ox.Triple(iri, FDI.checkedURL, ox.NamedNode(check.endpoint.url)),
        ox.Triple(iri, FDI.endpointState, ox.Literal(check.state)),
        ox.Triple(iri, FDI.checkDetail, ox.Literal(check.detail)),
        ox.Triple(iri, PROV.generatedAtTime, at),
    ]
    values: list[tuple[str, ox.NamedNode, ox.Literal | None]] = [
        ("availability", FDI.endpointAvailability, _boolean(check.reachable)),
        (
            "latency",
            FDI.endpointLatency,
            ox.Literal(str(check.latency_ms), datatype=XSD.decimal)
            if check.latency_ms is not None
            else None,
        ),
        ("tls", FDI.tlsCertificateValidity, _boolean(check.certificate_valid)),
        (
            "expiry",
            FDI.tlsCertificateExpiry,
            ox.Literal(
                check.certificate_expires.isoformat(timespec="seconds"), datatype=XSD.dateTime
            )
            if check.certificate_expires
            else None,
        ),
        ("media-type", FDI.mediaTypeConformance, _boolean(check.media_type_ok)),
    ]
    for name, metric, value in values:
        if value is None:
            continue
        m = ox.NamedNode(f"{iri.value}#{name}")
        triples += [
            ox.Triple(iri, DQV.hasQualityMeasurement, m),
            ox.Triple(m, RDF.type, DQV.QualityMeasurement),
            ox.Triple(m, DQV.computedOn, node),
            ox.Triple(m, DQV.isMeasurementOf, metric),
            ox.Triple(m, DQV.value, value),
            ox.Triple(m, PROV.generatedAtTime, at),
        ]
    return triples


def reports(registry: Registry, principal: Principal | None = None) -> list[dict[str, Any]]:
    """The latest report of every monitored endpoint ``principal`` may see (those of
    members-only catalogues to members only), as the directory shows them."""
    visible = {g.value for g in registry.dataset_for(principal)}
    rows = registry.records(FDI.EndpointReport, order="iri")
    return [report(registry, r.iri) for r in rows if r.graph in visible]


def report(registry: Registry, iri: str) -> dict[str, Any]:
    """One endpoint's latest report. Raises NotFound."""
    info = registry.info(iri)
    if info is None or info.type != FDI.EndpointReport.value:
        raise NotFound(f"no endpoint report {iri}")
    triples = content(registry, iri)
    node = ox.NamedNode(iri)
    out: dict[str, Any] = {
        "id": iri,
        "url": text(triples, node, FDI.checkedURL),
        "registered": text(triples, node, FDI.monitors),
        "publisher": info.owner if info else None,
        "state": text(triples, node, FDI.endpointState),
        "detail": text(triples, node, FDI.checkDetail),
        "checked": text(triples, node, PROV.generatedAtTime),
        "checks": info.version if info else 0,
    }
    for name in ("latency", "expiry"):
        out[name] = text(triples, ox.NamedNode(f"{iri}#{name}"), DQV.value)
    return out


def history(
    registry: Registry, iri: str, principal: Principal | None = None
) -> list[dict[str, Any]]:
    """Every check of one endpoint ``principal`` may see, newest first (from the journal's
    versions). Raises NotFound."""
    info = registry.info(iri)
    visible = {g.value for g in registry.dataset_for(principal)}
    if info is None or info.type != FDI.EndpointReport.value or info.graph not in visible:
        raise NotFound(f"no endpoint report {iri}")
    out = []
    for version in range(info.version, 0, -1):
        _, triples = registry.version(iri, version)
        node = ox.NamedNode(iri)
        out.append(
            {
                "version": version,
                "state": text(triples, node, FDI.endpointState),
                "detail": text(triples, node, FDI.checkDetail),
                "checked": text(triples, node, PROV.generatedAtTime),
            }
        )
    return out


class Monitor:
    """Runs :func:`check_all` every ``monitor_interval`` seconds in a background thread."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        interval = self.registry.settings.monitor_interval
        if interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="fdi-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.registry.settings.monitor_timeout * 2 + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.registry.settings.monitor_interval):
            try:
                check_all(self.registry)
            except Exception:  # noqa: BLE001 - one bad round must not end the schedule
                log.exception("endpoint monitoring round failed")


def _boolean(value: bool | None) -> ox.Literal | None:
    return None if value is None else ox.Literal("true" if value else "false", datatype=XSD.boolean)


def _peer_expiry(response: httpx.Response) -> dt.datetime | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    if not cert or "notAfter" not in cert:
        return None
    return dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), dt.UTC)


def _failed(
    endpoint: Endpoint, now: dt.datetime, state: str, detail: str, *, tls: bool | None = None
) -> Check:
    return Check(endpoint, state, False, None, None, None, None, tls, None, detail, now)
