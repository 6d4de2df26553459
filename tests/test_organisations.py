"""Organisations: applying with KYC evidence, one ID per legal identifier, verification and the
lifecycle with its cascades."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from registry.assembly import Registry
from registry.base.errors import (
    DuplicateOrganisation,
    Forbidden,
    InvalidTransition,
    PreconditionFailed,
    Unauthenticated,
    ValidationFailed,
)
from registry.base.identity import FSP, Principal
from registry.base.settings import Settings
from registry.trust import (
    legal_identifiers,
    membership_view,
    memberships,
    organisation_view,
    organisations,
)
from registry.trust.authentication import authenticate
from registry.trust.schemes import operator_iri
from tests.conftest import BASE
from tests.trust import Onboarding

ANONYMOUS = Principal.anonymous()
APPLICATION = {
    "legalName": "Example Flex Ltd",
    "companyNumber": "SC123456",
    "registeredAddress": "1 Example Street, Edinburgh EH1 1AA",
    "website": "https://flex.example.org/",
    "contactPoint": {"name": "Flexibility desk", "email": "flex@example.org"},
}


def application(number: str = "SC123456", **extra) -> organisations.Application:  # type: ignore[no-untyped-def]
    return organisations.Application(
        legal_name="Example Flex Ltd",
        contact_email="flex@example.org",
        company_number=number,
        **extra,
    )


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("1234567", "01234567"),
        ("0123 4567", "01234567"),
        (" 01234567 ", "01234567"),
        ("sc123456", "SC123456"),
        ("SC 123 456", "SC123456"),
        ("sc12345", "SC012345"),
        ("NI-000123", "NI000123"),
    ],
)
def test_company_number_spellings_normalise_to_one(given: str, normal: str) -> None:
    assert legal_identifiers.normalise_company_number(given) == normal


def test_an_application_is_recorded_as_applied_in_the_register_and_in_rdf(
    registry: Registry,
) -> None:
    view = organisations.apply(registry, application("123 4567"), ANONYMOUS)

    assert view["status"] == "applied" and view["companyNumber"] == "01234567"
    assert registry.info(view["id"]).status == "applied"
    found = registry.query(
        "PREFIX fdi: <https://w3id.org/fdi/ns#> "
        "SELECT ?o WHERE { ?o fdi:organisationStatus fdi:Applied }"
    )
    assert [row["o"].value for row in found.value] == [view["id"]]
    assert view["next"]["step"] == "wait-for-verification"


def test_applying_again_in_another_spelling_is_refused_with_a_pointer(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    first = client.post("/organisations", json=APPLICATION)
    again = client.post("/organisations", json={**APPLICATION, "companyNumber": "sc 123456"})

    assert first.status_code == 201 and first.headers["location"] == first.json()["id"]
    assert again.status_code == 409
    assert again.headers["location"] == first.json()["id"]
    assert again.headers["link"] == f'<{first.json()["id"]}>; rel="duplicate"'
    assert again.json()["existing"] == first.json()["id"]


def test_applying_with_the_lei_of_a_registered_organisation_is_refused(registry: Registry) -> None:
    first = organisations.apply(registry, application(lei="5493001KJTIIGC8Y1R12"), ANONYMOUS)
    with pytest.raises(DuplicateOrganisation) as refused:
        organisations.apply(
            registry, application("01234567", lei="5493 001k jtii gc8y 1r12"), ANONYMOUS
        )
    assert refused.value.extra["existing"] == first["id"]


def test_an_application_breaking_the_shapes_is_refused_with_the_report(app) -> None:  # type: ignore[no-untyped-def]
    response = TestClient(app).post(
        "/organisations", json={**APPLICATION, "lei": "5493001KJTIIGC8Y1R13"}
    )

    assert response.status_code == 422
    findings = response.json()["report"]["findings"]
    assert [(f["field"], f["rule"]) for f in findings] == [("lei", "LEI check digits wrong")]


def test_an_application_without_a_legal_identifier_is_refused(registry: Registry) -> None:
    with pytest.raises(ValidationFailed):
        organisations.apply(registry, application(None), ANONYMOUS)  # type: ignore[arg-type]


def test_twenty_concurrent_applications_with_one_company_number_yield_one_id(tmp_path) -> None:  # type: ignore[no-untyped-def]
    registry = Registry(Settings(data_dir=tmp_path / "data", base_iri=BASE))
    spellings = ["01234567", "1234567", "0123 4567", " 01234567 ", "012-34567"]
    ids: list[str] = []
    refused: list[str] = []
    barrier = threading.Barrier(20)

    def apply(n: int) -> None:
        barrier.wait()
        try:
            ids.append(
                organisations.apply(registry, application(spellings[n % 5]), ANONYMOUS)["id"]
            )
        except DuplicateOrganisation as e:
            refused.append(e.extra["existing"])

    threads = [threading.Thread(target=apply, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len(ids) == 1 and len(refused) == 19
        assert set(refused) == set(ids)
        stored = registry.index.query(
            'SELECT ?o WHERE { ?o <https://w3id.org/fdi/ns#companyNumber> "01234567" }', None
        )
        assert [row["o"].value for row in stored] == ids
    finally:
        registry.close()


def test_only_the_scheme_operator_verifies(app, onboarding: Onboarding) -> None:  # type: ignore[no-untyped-def]
    iri, _ = onboarding.apply("Example Flex Ltd", "SC123456")
    fsp = onboarding.member("Other Flex Ltd", "SC654321")

    with pytest.raises(Unauthenticated):
        organisations.verify(onboarding.registry, onboarding.ca, ANONYMOUS, iri, "DocumentsChecked")
    with pytest.raises(Forbidden):
        organisations.verify(
            onboarding.registry, onboarding.ca, fsp.principal, iri, "DocumentsChecked"
        )
    uid = iri.rsplit("/", 1)[-1]
    assert (
        onboarding.client(fsp)
        .post(f"/organisations/{uid}/verify", json={"assuranceLevel": "SelfAsserted"})
        .status_code
        == 403
    )


def test_verification_sets_the_assurance_level_and_issues_the_requested_certificate(
    onboarding: Onboarding,
) -> None:
    iri, _ = onboarding.apply("Example Flex Ltd", "SC123456")
    view = organisations.verify(
        onboarding.registry, onboarding.ca, onboarding.operator, iri, "IndependentlyAudited"
    )

    assert view["status"] == "verified" and view["assuranceLevel"] == "IndependentlyAudited"
    assert view["next"]["step"] == "join-scheme" and view["next"]["certificate"]
    assert len(view["administratorCertificates"]) == 1


def test_verifying_twice_is_an_invalid_transition(onboarding: Onboarding) -> None:
    iri, _ = onboarding.apply("Example Flex Ltd", "SC123456")
    organisations.verify(
        onboarding.registry, onboarding.ca, onboarding.operator, iri, "DocumentsChecked"
    )
    with pytest.raises(InvalidTransition):
        organisations.verify(
            onboarding.registry, onboarding.ca, onboarding.operator, iri, "DocumentsChecked"
        )


def test_a_stale_if_match_is_refused(app, onboarding: Onboarding) -> None:  # type: ignore[no-untyped-def]
    iri, _ = onboarding.apply("Example Flex Ltd", "SC123456")
    with pytest.raises(PreconditionFailed):
        organisations.verify(
            onboarding.registry,
            onboarding.ca,
            onboarding.operator,
            iri,
            "DocumentsChecked",
            if_match='"7"',
        )
    uid = iri.rsplit("/", 1)[-1]
    etag = TestClient(app).get(f"/organisations/{uid}").headers["etag"]
    verified = onboarding.operator_client().post(
        f"/organisations/{uid}/verify",
        headers={"If-Match": etag},
        json={"assuranceLevel": "DocumentsChecked"},
    )
    assert verified.status_code == 200


def test_rejection_keeps_the_record_with_its_reasons(app, onboarding: Onboarding) -> None:  # type: ignore[no-untyped-def]
    iri, _ = onboarding.apply("Example Flex Ltd", "SC123456")
    uid = iri.rsplit("/", 1)[-1]
    response = onboarding.operator_client().post(
        f"/organisations/{uid}/reject", json={"reasons": ["address does not match Companies House"]}
    )

    assert response.status_code == 200 and response.json()["status"] == "rejected"
    again = TestClient(app).get(f"/organisations/{uid}").json()
    assert again["reason"] == "address does not match Companies House"
    assert again["next"]["step"] == "contact-scheme-operator"


def test_suspension_cascades_to_memberships_and_certificates(onboarding: Onboarding) -> None:
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    organisations.suspend(onboarding.registry, onboarding.operator, fsp.iri, "fees unpaid")

    assert membership_view.membership(onboarding.registry, fsp.membership)["status"] == "suspended"
    for pem in (fsp.certificate, fsp.admin_certificate):
        with pytest.raises(Unauthenticated, match="revoked"):
            authenticate(onboarding.registry, onboarding.ca, pem)
    assert organisation_view.organisation(onboarding.registry, fsp.iri)["marketRoles"] == []


def test_reinstatement_reactivates_memberships_but_not_certificates(onboarding: Onboarding) -> None:
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    organisations.suspend(onboarding.registry, onboarding.operator, fsp.iri, "fees unpaid")
    view = organisations.reinstate(onboarding.registry, onboarding.operator, fsp.iri, "fees paid")

    assert view["status"] == "verified" and view["marketRoles"] == ["FlexibilityServiceProvider"]
    assert membership_view.membership(onboarding.registry, fsp.membership)["status"] == "active"
    with pytest.raises(Unauthenticated):
        authenticate(onboarding.registry, onboarding.ca, fsp.certificate)


def test_a_membership_suspended_on_its_own_stays_suspended_on_reinstatement(
    onboarding: Onboarding,
) -> None:
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    memberships.suspend(onboarding.registry, onboarding.operator, fsp.membership, "dispute")
    organisations.suspend(onboarding.registry, onboarding.operator, fsp.iri, "fees unpaid")
    organisations.reinstate(onboarding.registry, onboarding.operator, fsp.iri)

    assert membership_view.membership(onboarding.registry, fsp.membership)["status"] == "suspended"


def test_revocation_is_final_and_never_deletes(app, onboarding: Onboarding) -> None:  # type: ignore[no-untyped-def]
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    organisations.revoke(onboarding.registry, onboarding.operator, fsp.iri, "fraud")

    with pytest.raises(InvalidTransition):
        organisations.reinstate(onboarding.registry, onboarding.operator, fsp.iri)
    assert membership_view.membership(onboarding.registry, fsp.membership)["status"] == "revoked"
    assert TestClient(app).get(f"/organisations/{fsp.uid}").json()["status"] == "revoked"
    assert (
        TestClient(app).get(f"/id/org/{fsp.uid}", headers={"Accept": "text/turtle"}).status_code
        == 200
    )


def test_the_scheme_operator_cannot_suspend_itself(onboarding: Onboarding) -> None:
    with pytest.raises(InvalidTransition):
        organisations.suspend(onboarding.registry, onboarding.operator, operator_iri(BASE), "oops")


def test_the_operator_and_the_applicant_are_told_what_happened(onboarding: Onboarding) -> None:
    iri, _ = onboarding.apply("Example Flex Ltd", "SC123456")
    organisations.verify(
        onboarding.registry, onboarding.ca, onboarding.operator, iri, "DocumentsChecked"
    )
    rows = onboarding.registry.journal.read("SELECT recipient, body FROM notification ORDER BY id")

    assert any(r == operator_iri(BASE) and "applies to join" in b for r, b in rows)
    assert any(r == iri and "verified" in b for r, b in rows)


def test_the_scheme_operator_exists_once_after_restarts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "data", base_iri=BASE)
    for _ in range(2):
        registry = Registry(settings)
        onboarding = Onboarding.of_registry(registry)
        assert FSP not in onboarding.operator.roles and onboarding.operator.is_scheme_operator
        registry.close()
    registry = Registry(settings)
    try:
        owned = registry.journal.read(
            "SELECT count(*) FROM record WHERE iri = ?", (operator_iri(BASE),)
        )
        assert owned == [(1,)]
        assert registry.info(operator_iri(BASE)).version == 1
    finally:
        registry.close()
