"""Schemes and memberships: join, grant for a period, accept the versioned standard agreement,
suspend and revoke; the records written conform to the published shapes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
import rdflib
from fastapi.testclient import TestClient
from pyshacl import validate

from registry.base.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    Unauthenticated,
    UnusableInput,
)
from registry.base.identity import FSP
from registry.shacl.terms import rdf_term
from registry.trust import membership_view, memberships, organisation_view, organisations
from registry.trust.authentication import authenticate, request_certificate
from registry.trust.ca import new_key_and_csr
from registry.trust.schemes import FDI_SCHEME
from tests.conftest import BASE
from tests.shacl_reference import prepared_queries
from tests.trust import Onboarding


def test_join_grant_accept_makes_an_active_membership_and_says_what_is_next(
    app, onboarding: Onboarding
) -> None:  # type: ignore[no-untyped-def]
    applicant = onboarding.member("Example Flex Ltd", "SC123456", roles=[])
    admin = onboarding.admin_client(applicant)

    joined = admin.post("/schemes/fdi/memberships", json={"roles": ["FlexibilityServiceProvider"]})
    assert joined.status_code == 201 and joined.json()["status"] == "requested"
    uid = joined.json()["id"].rsplit("/", 1)[-1]
    granted = onboarding.operator_client().post(
        f"/memberships/{uid}/grant", json={"roles": ["FlexibilityServiceProvider"]}
    )
    assert granted.json()["status"] == "awaiting-acceptance"
    assert granted.json()["next"]["step"] == "accept-agreement"
    accepted = admin.post(
        f"/memberships/{uid}/accept", json={"agreement": granted.json()["next"]["agreement"]}
    )

    assert accepted.json()["status"] == "active"
    assert accepted.json()["next"]["step"] == "request-certificate"
    assert accepted.json()["scopes"] == [
        "agreements-write",
        "assets-write",
        "commercial-write",
        "messages-send",
    ]
    assert organisation_view.organisation(onboarding.registry, applicant.iri)["marketRoles"] == [
        "FlexibilityServiceProvider"
    ]


def test_accepting_before_the_grant_activates_the_membership_on_grant(
    onboarding: Onboarding,
) -> None:
    applicant = onboarding.member("Example Flex Ltd", "SC123456", roles=[])
    m = memberships.request_membership(
        onboarding.registry, applicant.admin_principal, FDI_SCHEME, ["MarketOperator"]
    )
    assert m["next"]["step"] == "accept-agreement"
    accepted = memberships.accept_agreement(onboarding.registry, applicant.admin_principal, m["id"])
    assert accepted["status"] == "requested" and accepted["next"]["step"] == "wait-for-grant"

    granted = memberships.grant(
        onboarding.registry, onboarding.operator, m["id"], ["MarketOperator"]
    )
    assert granted["status"] == "active" and granted["scopes"] == ["assets-read", "messages-send"]


def test_the_acceptance_records_who_when_and_the_digest_of_the_served_text(
    app, onboarding: Onboarding
) -> None:  # type: ignore[no-untyped-def]
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    acceptance = membership_view.membership(onboarding.registry, fsp.membership)["acceptance"]
    document = TestClient(app).get("/schemes/fdi/agreement")

    assert acceptance["by"] == fsp.admin_principal.user
    assert dt.datetime.fromisoformat(acceptance["at"].replace("Z", "+00:00")) <= dt.datetime.now(
        dt.UTC
    )
    assert acceptance["digest"] == "sha256:" + hashlib.sha256(document.content).hexdigest()
    assert (
        document.headers["repr-digest"]
        == f"sha-256=:{base64.b64encode(hashlib.sha256(document.content).digest()).decode()}:"
    )
    assert acceptance["agreement"] == FDI_SCHEME.agreement_iri(BASE)


def test_accepting_another_version_is_refused_with_the_current_one(onboarding: Onboarding) -> None:
    applicant = onboarding.member("Example Flex Ltd", "SC123456", roles=[])
    m = memberships.request_membership(
        onboarding.registry, applicant.admin_principal, FDI_SCHEME, [FSP]
    )
    with pytest.raises(Conflict) as refused:
        memberships.accept_agreement(onboarding.registry, applicant.admin_principal, m["id"], "0.9")
    assert refused.value.extra["existing"] == FDI_SCHEME.agreement_iri(BASE)


def test_a_second_open_membership_is_refused(onboarding: Onboarding) -> None:
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    with pytest.raises(Conflict):
        memberships.request_membership(
            onboarding.registry, fsp.admin_principal, FDI_SCHEME, ["MarketOperator"]
        )


def test_only_an_administrator_of_a_verified_organisation_asks_to_join(
    onboarding: Onboarding,
) -> None:
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    with pytest.raises(Forbidden):  # an application certificate carries no Administrator role
        memberships.request_membership(onboarding.registry, fsp.principal, FDI_SCHEME, [FSP])
    organisations.suspend(onboarding.registry, onboarding.operator, fsp.iri, "checks")
    with pytest.raises(Unauthenticated):
        authenticate(onboarding.registry, onboarding.ca, fsp.admin_certificate)


def test_unknown_roles_are_refused_naming_the_known_ones(onboarding: Onboarding) -> None:
    applicant = onboarding.member("Example Flex Ltd", "SC123456", roles=[])
    with pytest.raises(UnusableInput, match="FlexibilityServiceProvider"):
        memberships.request_membership(
            onboarding.registry, applicant.admin_principal, FDI_SCHEME, ["Aggregator"]
        )


def test_only_the_scheme_operator_grants(onboarding: Onboarding) -> None:
    applicant = onboarding.member("Example Flex Ltd", "SC123456", roles=[])
    m = memberships.request_membership(
        onboarding.registry, applicant.admin_principal, FDI_SCHEME, [FSP]
    )
    with pytest.raises(Forbidden):
        memberships.grant(onboarding.registry, applicant.admin_principal, m["id"], [FSP])


def test_a_refused_request_keeps_its_reasons_and_a_new_one_may_follow(
    onboarding: Onboarding,
) -> None:
    applicant = onboarding.member("Example Flex Ltd", "SC123456", roles=[])
    m = memberships.request_membership(
        onboarding.registry, applicant.admin_principal, FDI_SCHEME, [FSP]
    )
    refused = memberships.refuse(
        onboarding.registry, onboarding.operator, m["id"], ["no trading history"]
    )

    assert refused["status"] == "refused" and refused["reason"] == "no trading history"
    again = memberships.request_membership(
        onboarding.registry, applicant.admin_principal, FDI_SCHEME, [FSP]
    )
    assert again["id"] != m["id"]
    with pytest.raises(InvalidTransition):
        memberships.grant(onboarding.registry, onboarding.operator, m["id"], [FSP])


def test_suspending_a_membership_revokes_the_certificates_claiming_its_roles(
    onboarding: Onboarding,
) -> None:
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    memberships.suspend(onboarding.registry, onboarding.operator, fsp.membership, "investigation")

    with pytest.raises(Unauthenticated, match="revoked"):
        authenticate(onboarding.registry, onboarding.ca, fsp.certificate)
    admin = authenticate(
        onboarding.registry, onboarding.ca, fsp.admin_certificate
    )  # claims no scheme role
    assert admin.roles == {"https://w3id.org/fdi/ns#Administrator"}
    assert organisation_view.organisation(onboarding.registry, fsp.iri)["marketRoles"] == []


def test_roles_are_held_only_within_the_granted_period(onboarding: Onboarding) -> None:
    applicant = onboarding.member("Example Flex Ltd", "SC123456", roles=[])
    m = memberships.request_membership(
        onboarding.registry, applicant.admin_principal, FDI_SCHEME, [FSP]
    )
    later = dt.date.today() + dt.timedelta(days=30)
    memberships.grant(onboarding.registry, onboarding.operator, m["id"], [FSP], valid_from=later)
    memberships.accept_agreement(onboarding.registry, applicant.admin_principal, m["id"])

    assert membership_view.held(onboarding.registry, applicant.iri) == (set(), set())
    assert FSP in membership_view.held(onboarding.registry, applicant.iri, later)[0]
    _, csr = new_key_and_csr("app")
    with pytest.raises(UnusableInput, match="no role"):
        request_certificate(
            onboarding.registry,
            onboarding.ca,
            applicant.admin_principal,
            applicant.iri,
            csr.decode(),
        )


def test_the_scheme_describes_its_roles_scopes_and_agreement(app) -> None:  # type: ignore[no-untyped-def]
    scheme = TestClient(app).get("/schemes/fdi").json()

    assert (
        "FlexibilityServiceProvider" in scheme["roles"] and "SchemeOperator" not in scheme["roles"]
    )
    assert scheme["scopes"] == [
        "assets-write",
        "assets-read",
        "commercial-write",
        "agreements-write",
        "messages-send",
    ]
    assert scheme["agreement"]["version"] == "1.0"
    assert TestClient(app).get("/schemes/fdi/agreements/0.1").status_code == 404


def test_the_records_the_onboarding_writes_conform_to_the_shapes(onboarding: Onboarding) -> None:
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    onboarding.member("Example DSO plc", "01234567", roles=["DistributionSystemOperator"])
    memberships.suspend(onboarding.registry, onboarding.operator, fsp.membership, "investigation")
    # pySHACL on rdflib, the reference (on an Oxigraph store it mismatches plain strings).
    data = rdflib.Graph()
    for q in onboarding.registry.index.quads(None, None, None):
        data.add((rdf_term(q.subject), rdf_term(q.predicate), rdf_term(q.object)))

    with prepared_queries():
        conforms, _, text = validate(
            data,
            shacl_graph=onboarding.registry.shapes.graph,
            inference="none",
            advanced=False,
            allow_warnings=True,
        )
    assert conforms, text
