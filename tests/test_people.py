"""People: an organisation's administrators add and remove its users and set their roles."""

from __future__ import annotations

import pytest

from api.app import create_app
from registry.base.errors import Conflict, Forbidden, Unauthenticated, UnusableInput
from registry.base.settings import Settings
from registry.trust import people
from registry.trust.authentication import authenticate, request_certificate
from registry.trust.ca import new_key_and_csr
from tests.conftest import BASE
from tests.trust import Member, Onboarding


@pytest.fixture
def world() -> Onboarding:
    return Onboarding.of(create_app(Settings(data_dir=None, base_iri=BASE)))


@pytest.fixture
def fsp(world: Onboarding) -> Member:
    return world.member("Example Flex Ltd", "SC123456")


def person_certificate(world: Onboarding, fsp: Member, user: str, **claims) -> str:  # type: ignore[no-untyped-def]
    _, csr = new_key_and_csr("person")
    return request_certificate(
        world.registry, world.ca, fsp.admin_principal, fsp.iri, csr.decode(), user=user, **claims
    ).pem


def test_an_administrator_adds_a_user_with_roles(world: Onboarding, fsp: Member) -> None:
    admin = world.admin_client(fsp)
    added = admin.post(
        f"/organisations/{fsp.uid}/users",
        json={"name": "Eve Editor", "email": "eve@example.org", "roles": ["Editor"]},
    )

    assert added.status_code == 201
    assert added.json()["roles"] == ["Editor"] and added.json()["email"] == "mailto:eve@example.org"
    listed = admin.get(f"/organisations/{fsp.uid}/users").json()
    assert sorted(u["roles"][0] for u in listed) == ["Administrator", "Editor"]


def test_a_person_certificate_carries_their_roles_and_the_organisations(
    world: Onboarding, fsp: Member
) -> None:
    eve = people.add_user(
        world.registry, fsp.admin_principal, fsp.iri, "Eve", "eve@example.org", ["Editor"]
    )
    principal = authenticate(world.registry, world.ca, person_certificate(world, fsp, eve["id"]))

    assert principal.user == eve["id"]
    assert {r.rsplit("#", 1)[-1] for r in principal.roles} == {
        "Editor",
        "FlexibilityServiceProvider",
    }


def test_another_organisations_administrator_may_not_add_users(
    world: Onboarding, fsp: Member
) -> None:
    other = world.member("Other Flex Ltd", "SC654321")
    with pytest.raises(Forbidden):
        people.add_user(
            world.registry,
            other.admin_principal,
            fsp.iri,
            None,
            "mallory@example.org",
            ["Administrator"],
        )
    response = world.admin_client(other).get(f"/organisations/{fsp.uid}/users")
    assert response.status_code == 403


def test_removing_a_user_keeps_the_record_and_revokes_their_certificates(
    world: Onboarding, fsp: Member
) -> None:
    eve = people.add_user(
        world.registry, fsp.admin_principal, fsp.iri, "Eve", "eve@example.org", ["Editor"]
    )
    pem = person_certificate(world, fsp, eve["id"])
    uid = eve["id"].rsplit("/", 1)[-1]

    removed = world.admin_client(fsp).delete(f"/organisations/{fsp.uid}/users/{uid}")

    assert removed.status_code == 200 and removed.json()["status"] == "removed"
    assert people.user(world.registry, eve["id"])["email"] == "mailto:eve@example.org"
    with pytest.raises(Unauthenticated, match="revoked"):
        authenticate(world.registry, world.ca, pem)
    authenticate(world.registry, world.ca, fsp.certificate)  # the organisation's others still work


def test_the_last_administrator_cannot_be_removed(world: Onboarding, fsp: Member) -> None:
    with pytest.raises(Conflict, match="last administrator"):
        people.remove_user(world.registry, fsp.admin_principal, fsp.iri, fsp.admin_principal.user)
    with pytest.raises(Conflict):
        people.set_roles(
            world.registry, fsp.admin_principal, fsp.iri, fsp.admin_principal.user, ["Viewer"]
        )


def test_taking_a_role_away_revokes_the_certificates_claiming_it(
    world: Onboarding, fsp: Member
) -> None:
    ada = people.add_user(
        world.registry,
        fsp.admin_principal,
        fsp.iri,
        "Ada",
        "ada2@example.org",
        ["Administrator", "Viewer"],
    )
    admin_pem = person_certificate(world, fsp, ada["id"], roles=["Administrator"])
    viewer_pem = person_certificate(world, fsp, ada["id"], roles=["Viewer"])

    people.set_roles(world.registry, fsp.admin_principal, fsp.iri, ada["id"], ["Viewer"])

    with pytest.raises(Unauthenticated):
        authenticate(world.registry, world.ca, admin_pem)
    assert authenticate(world.registry, world.ca, viewer_pem).roles == {
        "https://w3id.org/fdi/ns#Viewer"
    }


def test_an_email_is_one_active_user(world: Onboarding, fsp: Member) -> None:
    people.add_user(
        world.registry, fsp.admin_principal, fsp.iri, "Eve", "eve@example.org", ["Editor"]
    )
    with pytest.raises(Conflict):
        people.add_user(
            world.registry, fsp.admin_principal, fsp.iri, "Eve", " eve@example.org", ["Viewer"]
        )


def test_unknown_user_roles_are_refused(world: Onboarding, fsp: Member) -> None:
    with pytest.raises(UnusableInput, match="Administrator"):
        people.add_user(
            world.registry, fsp.admin_principal, fsp.iri, "Eve", "eve@example.org", ["Owner"]
        )


def test_an_address_that_is_not_an_email_is_refused(world: Onboarding, fsp: Member) -> None:
    with pytest.raises(UnusableInput, match="not an email"):
        people.add_user(
            world.registry, fsp.admin_principal, fsp.iri, "Eve", "eve at example", ["Editor"]
        )
