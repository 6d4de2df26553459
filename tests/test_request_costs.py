"""What one request costs besides its own work, and what authentication may remember between
requests without letting a change through: a certificate's claims and CA signature by its
text, a membership's terms by the sequence of its last change (docs/performance.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from registry.base.errors import Unauthenticated
from registry.base.identity import FSP
from registry.base.vocab import FDI
from registry.kernel.lifecycle import content
from registry.trust import membership_view, memberships
from registry.trust.authentication import authenticate, revoke_certificate
from registry.trust.ca import CertificateAuthority
from tests.conftest import EXAMPLES
from tests.trust import Onboarding


def count_trips(monkeypatch: pytest.MonkeyPatch) -> list[Callable[..., Any]]:
    """The functions sent to the thread pool from now on, in order."""
    trips: list[Callable[..., Any]] = []
    real = anyio.to_thread.run_sync

    async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        trips.append(func)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return trips


def test_a_suspended_membership_stops_its_roles_after_they_were_read(
    onboarding: Onboarding,
) -> None:
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    registry = onboarding.registry
    assert FSP in membership_view.held(registry, fsp.iri)[0]
    assert FSP in membership_view.held(registry, fsp.iri)[0]  # the second read is remembered

    memberships.suspend(registry, onboarding.operator, fsp.membership, "investigation")
    assert membership_view.held(registry, fsp.iri) == (set(), set())

    memberships.reinstate(registry, onboarding.operator, fsp.membership, "cleared")
    assert FSP in membership_view.held(registry, fsp.iri)[0]


def test_a_membership_pending_in_a_transaction_is_read_as_given(onboarding: Onboarding) -> None:
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    registry = onboarding.registry
    assert fsp.membership is not None
    assert FSP in membership_view.held(registry, fsp.iri)[0]  # remembered from here on
    without_status = [
        t for t in content(registry, fsp.membership) if t.predicate != FDI.membershipStatus
    ]

    pending = {fsp.membership: without_status}
    assert membership_view.held(registry, fsp.iri, pending=pending) == (set(), set())
    assert FSP in membership_view.held(registry, fsp.iri)[0]


def test_a_revoked_certificate_is_refused_after_it_was_accepted(onboarding: Onboarding) -> None:
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    registry, ca = onboarding.registry, onboarding.ca
    assert authenticate(registry, ca, fsp.certificate).organisation == fsp.iri
    serial = authenticate(registry, ca, fsp.certificate).certificate_serial
    assert serial is not None

    revoke_certificate(registry, fsp.admin_principal, serial, "key lost")
    with pytest.raises(Unauthenticated, match="revoked"):
        authenticate(registry, ca, fsp.certificate)


def test_a_certificate_is_refused_by_another_ca_after_this_one_accepted_it(
    onboarding: Onboarding, tmp_path: Any
) -> None:
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    other = CertificateAuthority.open(tmp_path / "other-ca")
    for _ in range(2):
        assert authenticate(onboarding.registry, onboarding.ca, fsp.certificate).authenticated
        with pytest.raises(Unauthenticated, match="not issued by this registry's CA"):
            authenticate(onboarding.registry, other, fsp.certificate)


def test_one_asset_posted_makes_two_trips_to_the_thread_pool(
    onboarding: Onboarding, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Authentication (it reads the register), then the whole write; the gate and the role
    checks run on the event loop. Each trip is a hand-over between threads that a one-asset
    write pays in latency."""
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    trips = count_trips(monkeypatch)
    with onboarding.client(fsp) as client:
        trips.clear()
        answer = client.post(
            "/submissions",
            content=(EXAMPLES / "asset.ttl").read_bytes(),
            headers={"Content-Type": "text/turtle"},
        )
    assert answer.status_code == 201, answer.text
    assert "receipt" in answer.json()
    assert len(trips) == 2, trips


def test_a_request_without_certificate_or_token_is_anonymous_without_a_trip(
    onboarding: Onboarding, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/whoami`` reads nothing itself: with a certificate, its authentication is the one trip
    to the thread pool; without one, there is none."""
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    trips = count_trips(monkeypatch)
    anonymous = TestClient(onboarding.app)  # the member's client runs the app's lifespan
    with onboarding.client(fsp) as member:
        trips.clear()
        assert anonymous.get("/whoami").json()["authenticated"] is False
        assert trips == []
        assert member.get("/whoami").json()["organisation"] == fsp.iri
        assert len(trips) == 1, trips


def test_a_file_checked_at_validate_makes_one_trip_to_the_thread_pool(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = count_trips(monkeypatch)
    with TestClient(app) as client:
        trips.clear()
        answer = client.post(
            "/validate",
            content=(EXAMPLES / "asset.ttl").read_bytes(),
            headers={"Content-Type": "text/turtle"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["conforms"] is True
    assert len(trips) == 1, trips
