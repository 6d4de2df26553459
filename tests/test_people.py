"""People: an organisation's administrators add and remove its users and set their roles."""

from __future__ import annotations

import pytest

from registry.base.errors import Conflict, Forbidden, Unauthenticated, UnusableInput
from registry.trust import people
from registry.trust.authentication import authenticate, request_certificate
from registry.trust.ca import new_key_and_csr
from tests.trust import Member, Onboarding


def person_certificate(onboarding: Onboarding, fsp: Member, user: str, **claims) -> str:  # type: ignore[no-untyped-def]
    _, csr = new_key_and_csr("person")
    return request_certificate(
        onboarding.registry,
        onboarding.ca,
        fsp.admin_principal,
        fsp.iri,
        csr.decode(),
        user=user,
        **claims,
    ).pem


def test_an_administrator_adds_a_user_with_roles(onboarding: Onboarding, fsp: Member) -> None:
    admin = onboarding.admin_client(fsp)
    added = admin.post(
        f"/organisations/{fsp.uid}/users",
        json={"name": "Eve Editor", "email": "eve@example.org", "roles": ["Editor"]},
    )

    assert added.status_code == 201
    assert added.json()["roles"] == ["Editor"] and added.json()["email"] == "mailto:eve@example.org"
    listed = admin.get(f"/organisations/{fsp.uid}/users").json()
    assert sorted(u["roles"][0] for u in listed) == ["Administrator", "Editor"]


def test_a_person_certificate_carries_their_roles_and_the_organisations(
    onboarding: Onboarding, fsp: Member
) -> None:
    eve = people.add_user(
        onboarding.registry, fsp.admin_principal, fsp.iri, "Eve", "eve@example.org", ["Editor"]
    )
    principal = authenticate(
        onboarding.registry, onboarding.ca, person_certificate(onboarding, fsp, eve["id"])
    )

    assert principal.user == eve["id"]
    assert {r.rsplit("#", 1)[-1] for r in principal.roles} == {
        "Editor",
        "FlexibilityServiceProvider",
    }


def test_another_organisations_administrator_may_not_add_users(
    onboarding: Onboarding, fsp: Member
) -> None:
    other = onboarding.member("Other Flex Ltd", "SC654321")
    with pytest.raises(Forbidden):
        people.add_user(
            onboarding.registry,
            other.admin_principal,
            fsp.iri,
            None,
            "mallory@example.org",
            ["Administrator"],
        )
    response = onboarding.admin_client(other).get(f"/organisations/{fsp.uid}/users")
    assert response.status_code == 403


def test_removing_a_user_keeps_the_record_and_revokes_their_certificates(
    onboarding: Onboarding, fsp: Member
) -> None:
    eve = people.add_user(
        onboarding.registry, fsp.admin_principal, fsp.iri, "Eve", "eve@example.org", ["Editor"]
    )
    pem = person_certificate(onboarding, fsp, eve["id"])
    uid = eve["id"].rsplit("/", 1)[-1]

    removed = onboarding.admin_client(fsp).delete(f"/organisations/{fsp.uid}/users/{uid}")

    assert removed.status_code == 200 and removed.json()["status"] == "removed"
    assert people.user(onboarding.registry, eve["id"])["email"] == "mailto:eve@example.org"
    with pytest.raises(Unauthenticated, match="revoked"):
        authenticate(onboarding.registry, onboarding.ca, pem)
    authenticate(
        onboarding.registry, onboarding.ca, fsp.certificate
    )  # the organisation's others still work


def test_the_last_administrator_cannot_be_removed(onboarding: Onboarding, fsp: Member) -> None:
    with pytest.raises(Conflict, match="last administrator"):
        people.remove_user(
            onboarding.registry, fsp.admin_principal, fsp.iri, fsp.admin_principal.user
        )
    with pytest.raises(Conflict):
        people.set_roles(
            onboarding.registry, fsp.admin_principal, fsp.iri, fsp.admin_principal.user, ["Viewer"]
        )


def test_taking_a_role_away_revokes_the_certificates_claiming_it(
    onboarding: Onboarding, fsp: Member
) -> None:
    ada = people.add_user(
        onboarding.registry,
        fsp.admin_principal,
        fsp.iri,
        "Ada",
        "ada2@example.org",
        ["Administrator", "Viewer"],
    )
    admin_pem = person_certificate(onboarding, fsp, ada["id"], roles=["Administrator"])
    viewer_pem = person_certificate(onboarding, fsp, ada["id"], roles=["Viewer"])

    people.set_roles(onboarding.registry, fsp.admin_principal, fsp.iri, ada["id"], ["Viewer"])

    with pytest.raises(Unauthenticated):
        authenticate(onboarding.registry, onboarding.ca, admin_pem)
    assert authenticate(onboarding.registry, onboarding.ca, viewer_pem).roles == {
        "https://w3id.org/fdi/ns#Viewer"
    }


def test_an_email_is_one_active_user(onboarding: Onboarding, fsp: Member) -> None:
    people.add_user(
        onboarding.registry, fsp.admin_principal, fsp.iri, "Eve", "eve@example.org", ["Editor"]
    )
    with pytest.raises(Conflict):
        people.add_user(
            onboarding.registry, fsp.admin_principal, fsp.iri, "Eve", " eve@example.org", ["Viewer"]
        )


def test_unknown_user_roles_are_refused(onboarding: Onboarding, fsp: Member) -> None:
    with pytest.raises(UnusableInput, match="Administrator"):
        people.add_user(
            onboarding.registry, fsp.admin_principal, fsp.iri, "Eve", "eve@example.org", ["Owner"]
        )


def test_an_address_that_is_not_an_email_is_refused(onboarding: Onboarding, fsp: Member) -> None:
    with pytest.raises(UnusableInput, match="not an email"):
        people.add_user(
            onboarding.registry, fsp.admin_principal, fsp.iri, "Eve", "eve at example", ["Editor"]
        )
