"""Proposals and rules versions in the domain (registry.rules.proposals, registry.rules.rules,
registry.rules.impact): what a proposal's checks refuse, naming the term; who may propose which
document; adoption's conflicts; versions kept across a restart; who sees which part of an
impact report. A refused request changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from registry.assembly import Registry
from registry.base.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    ProposalRefused,
    UnusableInput,
)
from registry.base.identity import Principal
from registry.base.settings import Settings
from registry.operations.demo_identifiers import mpan_core
from registry.rules import consultation, impact, proposal_records, proposals, rules
from registry.submissions.formats import read_bytes
from registry.trust.ca import CertificateAuthority
from tests.conftest import BASE, EXAMPLES
from tests.proposal_documents import documents, proposal
from tests.trust import Member, Onboarding

NEW_TERM = """
fdi:hydrogenBlend a owl:DatatypeProperty ;
    rdfs:label "hydrogen blend"@en ;
    rdfs:comment "The share of hydrogen in a generator's fuel."@en .
"""


@dataclass
class World:
    registry: Registry
    on: Onboarding
    standards: Member
    fsp: Member
    rival: Member
    dso: Member

    @property
    def operator(self) -> Principal:
        return self.on.operator


def make_world(registry: Registry) -> World:
    on = Onboarding(registry, CertificateAuthority.open(None))
    return World(
        registry,
        on,
        on.member("Flex Standards Ltd", "SC400001", roles=["StandardsBody"]),
        on.member("Alpha Flex Ltd", "SC400002"),
        on.member("Beta Flex Ltd", "SC400003"),
        on.member("South Grid plc", "SC400004", roles=["DistributionSystemOperator"]),
    )


@pytest.fixture
def world(registry: Registry) -> World:
    return make_world(registry)


def fdi_with(extra: str) -> dict[str, str]:
    return {"ontology/fdi": rules.packaged().text("ontology/fdi") + extra}


def body(docs: dict[str, str], version: str = "0.2.0") -> dict:  # type: ignore[type-arg]
    return {"title": "A change", "version": version, "documents": docs}


def refused(world: World, principal: Principal, docs: dict[str, str]) -> list[dict[str, str]]:
    with pytest.raises(ProposalRefused) as caught:
        proposals.propose(world.registry, principal, body(docs))
    assert proposal_records.every(world.registry) == []  # nothing stored
    return caught.value.extra["problems"]  # type: ignore[no-any-return]


def register_battery(world: World, member: Member, n: int) -> str:
    text = (EXAMPLES / "asset.ttl").read_text().replace("2143967712809", mpan_core(21, 7000 + n))
    text = text.replace("TG1234567890", f"TG-{n}")
    done = world.registry.register(
        read_bytes(text.encode(), "turtle", source="a.ttl"), member.principal.actor, member.iri
    )
    return done.as_dict()["ids"]["battery-cardiff-1"]  # type: ignore[no-any-return,index]


def test_a_new_term_without_a_label_is_refused_naming_it(world: World) -> None:
    unlabelled = NEW_TERM.replace('rdfs:label "hydrogen blend"@en ;', "")
    problems = refused(world, world.standards.principal, fdi_with(unlabelled))
    assert problems == [
        {
            "document": "ontology/fdi",
            "term": "https://w3id.org/fdi/ns#hydrogenBlend",
            "problem": "has no label",
        }
    ]


def test_a_new_term_without_a_definition_is_refused_naming_it(world: World) -> None:
    undefined = NEW_TERM.replace(
        """rdfs:comment "The share of hydrogen in a generator's fuel."@en""",
        'rdfs:label "again"@en',
    )
    problems = refused(world, world.standards.principal, fdi_with(undefined))
    assert [(p["term"], p["problem"].split(" (")[0]) for p in problems] == [
        ("https://w3id.org/fdi/ns#hydrogenBlend", "has no definition")
    ]


def test_a_term_minted_outside_the_registrys_namespace_is_refused(world: World) -> None:
    foreign = NEW_TERM.replace("fdi:hydrogenBlend", "<https://example.org/vocab#hydrogenBlend>")
    problems = refused(world, world.standards.principal, fdi_with(foreign))
    assert [p["term"] for p in problems] == ["https://example.org/vocab#hydrogenBlend"]
    assert "not yours to define" in problems[0]["problem"]


def test_adding_to_a_term_of_another_vocabulary_is_refused(world: World) -> None:
    redefined = '\nsaref:Device rdfs:label "A gadget"@en .\n'
    problems = refused(world, world.standards.principal, fdi_with(redefined))
    assert [p["term"] for p in problems] == ["https://saref.etsi.org/core/Device"]


def test_shapes_that_are_not_well_formed_shacl_are_refused(world: World) -> None:
    asset = rules.packaged().text("shapes/asset")
    broken = asset + (
        '\nfdish:Asset-broken a sh:PropertyShape ; sh:name "broken"@en ;\n'
        '    sh:description "A shape with two paths."@en ;\n'
        "    sh:path fdi:technology , fdi:gspGroup ; sh:minCount 1 .\n"
    )
    problems = refused(world, world.standards.principal, {"shapes/asset": broken})
    assert problems and all("not well-formed SHACL" in p["problem"] for p in problems)
    assert "https://w3id.org/fdi/shapes#Asset-broken" in {p["term"] for p in problems}


def test_a_new_sparql_query_is_refused_as_it_could_read_every_organisations_records(
    world: World,
) -> None:
    # Reported by a review: the impact run validates every graph, and a query's message
    # (GROUP_CONCAT of every contact's email) reached the proposer in its samples.
    asset = rules.packaged().text("shapes/asset")
    leaking = asset + (
        "\nfdish:Asset-leak a sh:NodeShape ; sh:targetClass fdi:FlexibleAsset ;\n"
        '    sh:sparql [ a sh:SPARQLConstraint ; sh:message "{?v}" ;\n'
        '        sh:select """SELECT $this (GROUP_CONCAT(?e) AS ?v) WHERE {\n'
        '            ?x <http://www.w3.org/2006/vcard/ns#hasEmail> ?e } GROUP BY $this""" ] .\n'
    )
    problems = refused(world, world.standards.principal, {"shapes/asset": leaking})
    assert {p["problem"] for p in problems} >= {"adds a SPARQL query (SHACL-SPARQL)"}


def test_the_sparql_queries_a_version_already_has_may_stay(world: World) -> None:
    asset = rules.packaged().text("shapes/asset")
    assert "sh:select" in asset  # the check digit rule, among others
    kept = asset.replace('sh:name "technology"@en', 'sh:name "technology used"@en', 1)
    assert kept != asset
    proposals.propose(world.registry, world.standards.principal, body({"shapes/asset": kept}))


def test_turtle_that_does_not_parse_is_refused_naming_the_document(world: World) -> None:
    with pytest.raises(UnusableInput, match="ontology/fdi is not well-formed Turtle"):
        proposals.propose(
            world.registry, world.standards.principal, body({"ontology/fdi": "fdi:x ."})
        )
    assert proposal_records.every(world.registry) == []


def test_a_proposal_that_changes_nothing_is_refused(world: World) -> None:
    same = {"shapes/asset": rules.packaged().text("shapes/asset")}
    with pytest.raises(UnusableInput, match="nothing would change"):
        proposals.propose(world.registry, world.standards.principal, body(same))


def test_a_provider_may_not_propose(world: World) -> None:
    with pytest.raises(Forbidden):
        proposals.propose(world.registry, world.fsp.principal, proposal())
    assert proposal_records.every(world.registry) == []


def test_a_market_operator_may_not_change_the_registrys_own_rules(world: World) -> None:
    problems = refused(world, world.dso.principal, documents())
    assert {p["document"] for p in problems} == {
        "ontology/fdi",
        "ontology/technologies",
        "shapes/asset",
    }


def test_a_version_not_above_the_latest_is_refused(world: World) -> None:
    with pytest.raises(Conflict, match="above the latest rules version, 0.1.0"):
        proposals.propose(world.registry, world.standards.principal, proposal("0.1.0"))


def adopt(world: World, p: proposal_records.Proposal, days: float = 0) -> rules.RulesVersion:
    when = world.registry.clock() + dt.timedelta(days=days, seconds=1)
    return proposals.adopt(
        world.registry, world.operator, p.iri.rsplit("/", 1)[-1], when.isoformat()
    )


def test_a_proposal_on_a_version_since_replaced_cannot_be_adopted(world: World) -> None:
    first = proposals.propose(world.registry, world.standards.principal, proposal("0.2.0"))
    second = proposals.propose(world.registry, world.standards.principal, proposal("0.3.0"))
    adopt(world, first)
    with pytest.raises(Conflict, match="0.2.0 was adopted since"):
        adopt(world, second)
    assert proposal_records.read(world.registry, second.iri).status == "proposed"
    assert [v.version for v in rules.versions(world.registry)] == ["0.1.0", "0.2.0"]


def test_only_the_scheme_operator_adopts_and_not_in_the_past(world: World) -> None:
    made = proposals.propose(world.registry, world.standards.principal, proposal())
    uid = made.iri.rsplit("/", 1)[-1]
    with pytest.raises(Forbidden):
        proposals.adopt(world.registry, world.standards.principal, uid, "2099-01-01T00:00:00Z")
    with pytest.raises(UnusableInput, match="now or later"):
        proposals.adopt(world.registry, world.operator, uid, "2020-01-01T00:00:00Z")
    assert proposal_records.read(world.registry, made.iri).status == "proposed"
    assert [v.version for v in rules.versions(world.registry)] == ["0.1.0"]


def test_an_adopted_proposal_takes_no_more_comments(world: World) -> None:
    made = proposals.propose(world.registry, world.standards.principal, proposal())
    adopt(world, made)
    with pytest.raises(InvalidTransition):
        consultation.comment(
            world.registry, world.fsp.principal, made.iri.rsplit("/", 1)[-1], b'{"content": "late"}'
        )


def test_the_version_in_force_is_chosen_by_the_time(world: World) -> None:
    made = proposals.propose(world.registry, world.standards.principal, proposal())
    adopted = adopt(world, made, days=10)
    assert adopted.status == "adopted"
    assert world.registry.rules_now()[0] == "0.1.0"
    later = adopted.effective + dt.timedelta(seconds=1)  # type: ignore[operator]
    world.registry.clock = lambda: later
    assert world.registry.rules_now()[0] == "0.2.0"
    assert [v.status for v in rules.versions(world.registry)] == ["superseded", "in force"]


def test_adopted_versions_survive_a_restart_and_an_index_rebuild(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", base_iri=BASE)
    registry = Registry(settings)
    world = make_world(registry)
    adopt(world, proposals.propose(registry, world.standards.principal, proposal()), days=1)
    registry.close()
    import shutil

    shutil.rmtree(tmp_path / "data" / "index")
    again = Registry(settings)
    try:
        found = rules.get(again, "0.2.0")
        assert found.status == "adopted"
        assert "fdi:batteryChemistry" in found.text("ontology/fdi")
        again.clock = lambda: found.effective + dt.timedelta(seconds=1)  # type: ignore[operator]
        assert again.rules_now()[0] == "0.2.0"
    finally:
        again.close()


def test_adopted_versions_are_in_a_backup_and_come_back_with_its_restore(tmp_path: Path) -> None:
    from registry.operations import backup

    settings = Settings(data_dir=tmp_path / "data", base_iri=BASE)
    registry = Registry(settings)
    world = make_world(registry)
    adopt(world, proposals.propose(registry, world.standards.principal, proposal()), days=1)
    backup.backup(tmp_path / "data", tmp_path / "backup", BASE)
    registry.close()
    restored_settings = Settings(data_dir=tmp_path / "restored", base_iri=BASE)
    backup.restore(tmp_path / "backup", restored_settings)
    restored = Registry(restored_settings)
    try:
        assert [v.version for v in rules.versions(restored)] == ["0.1.0", "0.2.0"]
    finally:
        restored.close()


def test_each_organisation_sees_only_its_own_records_in_the_impact(world: World) -> None:
    mine = {register_battery(world, world.fsp, n) for n in (1, 2)}
    theirs = register_battery(world, world.rival, 3)
    made = proposals.propose(world.registry, world.standards.principal, proposal())
    assert impact.wait(world.registry, made.iri).status == "finished"
    own = impact.view(world.registry, world.fsp.principal, made.iri)
    assert own["yours"]["records"] == 2
    assert {s["record"] for s in own["yours"]["samples"]} == mine
    assert "byOrganisation" not in own and theirs not in str(own)
    public = impact.view(world.registry, Principal.anonymous(), made.iri)
    assert public["records"] == 3 and "yours" not in public and "byOrganisation" not in public
    proposer = impact.view(world.registry, world.standards.principal, made.iri)
    assert proposer["byOrganisation"] == {world.fsp.iri: 2, world.rival.iri: 1}
    assert theirs not in str(proposer)  # counts, not records


def test_a_market_operator_publishes_its_own_markets_requirements_only(world: World) -> None:
    named = f"\nfdi:market-ukpn fdi:operatedBy <{world.dso.iri}> .\n"
    owner = proposals.propose(world.registry, world.standards.principal, body(fdi_with(named)))
    adopt(world, owner)
    ukpn = rules.latest(world.registry).text("shapes/market/ukpn")
    changed = ukpn.replace("@en ;", "@en ;", 1) + (
        "\n<https://w3id.org/fdi/shapes/market/ukpn#contact> a sh:NodeShape ;\n"
        '    sh:name "contact point"@en ;\n'
        '    sh:description "A provider gives a contact point for dispatch."@en ;\n'
        "    sh:targetClass fdi:CommercialInformation ;\n"
        "    sh:property [ sh:path fdi:contactPoint ; sh:minCount 1 ] .\n"
    )
    made = proposals.propose(
        world.registry, world.dso.principal, body({"shapes/market/ukpn": changed}, "0.3.0")
    )
    assert made.proposer == world.dso.iri
    with pytest.raises(ProposalRefused, match="for its operator"):
        proposals.propose(
            world.registry,
            world.standards.principal,
            body({"shapes/market/ukpn": changed}, "0.3.1"),
        )
    neso = rules.latest(world.registry).text("shapes/market/neso") + "\n# a change\n"
    with pytest.raises(ProposalRefused, match="are for a standards body"):
        proposals.propose(
            world.registry, world.dso.principal, body({"shapes/market/neso": neso}, "0.3.1")
        )


def test_a_market_operators_adopted_requirements_are_the_ones_signposted(world: World) -> None:
    from registry.markets import signposting

    named = f"\nfdi:market-ukpn fdi:operatedBy <{world.dso.iri}> .\n"
    adopt(
        world, proposals.propose(world.registry, world.standards.principal, body(fdi_with(named)))
    )
    ukpn = rules.latest(world.registry).text("shapes/market/ukpn") + (
        "\n<https://w3id.org/fdi/shapes/market/ukpn#contact> a sh:NodeShape ;\n"
        '    sh:name "contact point"@en ;\n'
        '    sh:description "A provider gives a contact point for dispatch."@en ;\n'
        "    sh:targetClass fdi:CommercialInformation ;\n"
        '    sh:property [ sh:path fdi:contactPoint ; sh:minCount 1 ; sh:name "contact"@en ] .\n'
    )
    made = proposals.propose(
        world.registry, world.dso.principal, body({"shapes/market/ukpn": ukpn}, "0.3.0")
    )
    adopted = adopt(world, made, days=1)

    def rules_of_ukpn() -> list[str]:
        m = signposting.market("ukpn", rules.in_force(world.registry))
        return [r["name"] for r in signposting.requirements(m)]

    assert "contact" not in rules_of_ukpn()
    world.registry.clock = lambda: adopted.effective + dt.timedelta(seconds=1)  # type: ignore[operator]
    assert "contact" in rules_of_ukpn()


def test_competing_proposals_of_one_version_each_report_their_own_impact(world: World) -> None:
    register_battery(world, world.fsp, 1)
    strict = proposals.propose(world.registry, world.standards.principal, proposal())
    lenient_docs = documents()
    del lenient_docs["shapes/asset"]  # the new terms only, no new rule
    lenient = proposals.propose(world.registry, world.standards.principal, body(lenient_docs))
    assert impact.wait(world.registry, strict.iri).counts() == {world.fsp.iri: 1}
    assert impact.wait(world.registry, lenient.iri).counts() == {}
