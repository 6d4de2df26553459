"""The published SHACL shapes, tested with data.

Each file in ``tests/fixtures/shapes/valid`` must give no validation result at all; each file in
``tests/fixtures/shapes/invalid`` breaks one rule and declares, in comments at its top, the exact
results it must give (so does each file in ``tests/fixtures/shapes/respelled``, whose value
breaks a rule as written and which the registry stores respelled, see
``registry.submissions.normalise``)::

    # expect: <focus> | <path or -> | <constraint component> | <source shape> [| Warning]

Terms are prefixed names (prefixes of the fixture and of ``registry.base.vocab``) or ``<IRIs>``;
paths
other than a single predicate are written as in SPARQL (``fdi:companyNumber|fdi:lei``,
``odrl:permission/odrl:constraint``); the severity defaults to Violation. All shapes, the
registry-data ones included, are active.

The data graph is an rdflib Graph: pySHACL on its own substrate is the reference (on an
Oxigraph store it mismatches plain strings in ``sh:in``, docs/facts.md, fact 18). Each SHACL-SPARQL
query text is parsed once (``tests/shacl_reference``): rdflib's parser is the slow part.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pyshacl
import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, SH, XSD

from registry.base import vocab
from tests.shacl_reference import prepared_queries

ROOT = Path(__file__).resolve().parent.parent
SHAPES_DIR = ROOT / "shapes"
FIXTURES = ROOT / "tests" / "fixtures" / "shapes"
VALID = sorted((FIXTURES / "valid").glob("*.ttl"))
INVALID = sorted((FIXTURES / "invalid").glob("*.ttl")) + sorted(
    (FIXTURES / "respelled").glob("*.ttl")
)

FDI = Namespace(vocab.FDI.iri)
FDISH = Namespace(vocab.FDISH.iri)
EX = Namespace("http://example.org/")

# (focus node, path in SPARQL syntax with full IRIs or None, constraint component, shape, severity)
Result = tuple[URIRef, str | None, str, URIRef, str]


@cache
def shapes_graph() -> Graph:
    graph = Graph()
    for path in sorted(SHAPES_DIR.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def validate(data: Graph, *, shapes: Graph | None = None, **options) -> Graph:
    with prepared_queries():
        _, report, _ = pyshacl.validate(
            data,
            shacl_graph=shapes_graph() if shapes is None else shapes,
            advanced=False,
            inference="none",
            allow_warnings=True,
            **options,
        )
    return report


def local_name(iri: URIRef) -> str:
    return re.split(r"[#/]", str(iri))[-1]


def sparql_path(graph: Graph, path: URIRef | BNode | None) -> str | None:
    """A predicate, sequence or alternative path in SPARQL syntax (the rules use no others)."""
    if path is None:
        return None
    if isinstance(path, URIRef):
        return f"<{path}>"
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        return "|".join(sparql_path(graph, p) for p in Collection(graph, alternatives))
    return "/".join(sparql_path(graph, p) for p in Collection(graph, path))


def results(report: Graph) -> set[Result]:
    """The top-level results of a report as (focus, path, component, shape, severity)."""
    found = set()
    for result in report.objects(None, SH.result):
        found.add(
            (
                report.value(result, SH.focusNode),
                sparql_path(report, report.value(result, SH.resultPath)),
                local_name(report.value(result, SH.sourceConstraintComponent)),
                report.value(result, SH.sourceShape),
                local_name(report.value(result, SH.resultSeverity)),
            )
        )
    return found


def messages(report: Graph) -> list[str]:
    return [
        str(m) for r in report.objects(None, SH.result) for m in report.objects(r, SH.resultMessage)
    ]


def expected_results(path: Path, graph: Graph) -> set[Result]:
    prefixes = {**vocab.PREFIXES, **{p: str(ns) for p, ns in graph.namespaces()}}

    def term(text: str) -> URIRef:
        if text.startswith("<") and text.endswith(">"):
            return URIRef(text[1:-1])
        prefix, _, name = text.partition(":")
        return URIRef(prefixes[prefix] + name)

    def path_(text: str) -> str | None:
        if text == "-":
            return None
        return re.sub(r"[^|/]+", lambda m: f"<{term(m.group())}>", text)

    expected = set()
    for line in re.findall(r"^# expect:(.*)$", path.read_text(), flags=re.M):
        focus, result_path, component, shape, *severity = (
            field.strip() for field in re.split(r"\s\|\s", line)
        )
        expected.add(
            (term(focus), path_(result_path), component, term(shape), *(severity or ["Violation"]))
        )
    return expected


# ---------------------------------------------------------------- fixtures


def test_there_are_fixtures() -> None:
    assert len(VALID) >= 10 and len(INVALID) >= 40


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_fixture_gives_no_result(path: Path) -> None:
    report = validate(Graph().parse(path, format="turtle"))
    assert results(report) == set(), messages(report)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_gives_exactly_the_declared_results(path: Path) -> None:
    data = Graph().parse(path, format="turtle")
    expected = expected_results(path, data)
    assert expected, f"{path.name} declares no '# expect:' line"

    report = validate(data)

    assert results(report) == expected
    for message in messages(report):
        assert message.strip() and not re.search(r"\{[?$]\w+\}", message), message


def rule_shapes(graph: Graph) -> set[URIRef]:
    """Shapes that report results themselves: targeted, or a property of a targeted shape."""
    targets = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
    targeted = {s for t in targets for s in graph.subjects(t, None)}
    candidates = targeted | {p for s in targeted for p in graph.objects(s, SH.property)}
    return {
        s for s in candidates if constraint_parameters(graph, s) or (s, SH.sparql, None) in graph
    }


def test_every_rule_has_an_invalid_fixture() -> None:
    declared = {
        shape
        for path in INVALID
        for (_, _, _, shape, _) in expected_results(path, Graph().parse(path, format="turtle"))
    }
    assert rule_shapes(shapes_graph()) - declared == set()


# ---------------------------------------------------------------- the shapes themselves

NOT_CONSTRAINTS = {
    SH.targetClass,
    SH.targetNode,
    SH.targetSubjectsOf,
    SH.targetObjectsOf,
    SH.property,
    SH.sparql,
    SH.name,
    SH.description,
    SH.message,
    SH.severity,
    SH.deactivated,
    SH.order,
    SH.group,
    SH.path,
}


def constraint_parameters(graph: Graph, shape: URIRef | BNode) -> set[URIRef]:
    return {
        p
        for p in graph.predicates(shape, None)
        if p.startswith(str(SH)) and p not in NOT_CONSTRAINTS
    }


def operand_shapes(graph: Graph) -> set:
    """Shapes used only as operands of sh:or, sh:and, sh:xone, sh:not or qualified counts."""
    operands = set(graph.objects(None, SH["not"])) | set(
        graph.objects(None, SH.qualifiedValueShape)
    )
    for operator in (SH["or"], SH["and"], SH.xone):
        for members in graph.objects(None, operator):
            operands.update(Collection(graph, members))
    return operands


def documentation_gaps(graph: Graph) -> Iterator[str]:
    operands = operand_shapes(graph)
    property_shapes = (
        set(graph.subjects(RDF.type, SH.PropertyShape))
        | set(graph.objects(None, SH.property))
        | {s for s in graph.subjects(SH.path, None) if s not in operands}
    )
    node_shapes = set(graph.subjects(RDF.type, SH.NodeShape)) | set(graph.objects(None, SH.node))
    sparql_constraints = set(graph.objects(None, SH.sparql))
    for shape in property_shapes | node_shapes | sparql_constraints:
        required = [SH.name, SH.description]
        if (
            shape in property_shapes
            or shape in sparql_constraints
            or constraint_parameters(graph, shape)
        ):
            required.append(SH.message)
        for prop in required:
            if not str(graph.value(shape, prop) or "").strip():
                yield f"{shape} has no {local_name(prop)}"


def test_every_shape_and_constraint_is_named_described_and_has_a_message() -> None:
    assert sorted(documentation_gaps(shapes_graph())) == []


def test_shapes_are_well_formed_shacl() -> None:
    # meta_shacl checks the shapes graph against the SHACL-SHACL shapes and raises if it fails.
    pyshacl.validate(
        Graph(), shacl_graph=shapes_graph(), meta_shacl=True, advanced=False, inference="none"
    )


def test_every_rule_states_its_severity() -> None:
    graph = shapes_graph()
    for shape in rule_shapes(graph):
        assert graph.value(shape, SH.severity) in (SH.Violation, SH.Warning), shape


@pytest.mark.parametrize("path", sorted(SHAPES_DIR.glob("*.ttl")), ids=lambda p: p.name)
def test_shapes_file_is_versioned(path: Path) -> None:
    graph = Graph().parse(path, format="turtle")
    (header,) = graph.subjects(RDF.type, OWL.Ontology)
    assert graph.value(header, OWL.versionInfo) == Literal("0.1.0")
    assert graph.value(header, DCTERMS.title)
    assert graph.value(header, DCTERMS.modified).datatype == XSD.date


@pytest.mark.parametrize("path", sorted(SHAPES_DIR.glob("*.ttl")), ids=lambda p: p.name)
def test_only_registry_shapes_need_registry_data(path: Path) -> None:
    graph = Graph().parse(path, format="turtle")
    marked = set(graph.subjects(FDI.requiresRegistryData, Literal(True)))
    if path.name == "registry.ttl":
        # Each has its own target, so offline validation can leave it out on its own.
        assert marked and marked == rule_shapes(graph) == set(graph.subjects(SH.targetClass, None))
    else:
        assert marked == set()


def test_offline_shapes_do_not_need_the_records_a_right_refers_to() -> None:
    data = Graph().parse(FIXTURES / "valid" / "right-to-operate.ttl", format="turtle")
    for record in (EX.asset, EX.fsp):
        data.remove((record, None, None))
    # Offline, the registry-data shapes are deactivated (and reported as not checked).
    offline = Graph()
    offline += shapes_graph()
    for shape in shapes_graph().subjects(FDI.requiresRegistryData, Literal(True)):
        offline.add((shape, SH.deactivated, Literal(True)))

    assert results(validate(data, shapes=offline)) == set()
    assert {shape for (_, _, _, shape, _) in results(validate(data))} == {
        FDISH["RightToOperate-asset-registered"],
        FDISH["RightToOperate-operator-registered"],
    }


# ---------------------------------------------------------------- MPAN check digit

MPAN_WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
DOCUMENTED_MPAN_CORES = (
    "2143967712809",
    "1012345678903",
    "1212345678902",
    "1712345678905",
    "2312345678900",
)


def mpan_weighted_sum(core: str) -> int:
    return sum(int(digit) * weight for digit, weight in zip(core[:12], MPAN_WEIGHTS, strict=True))


def mpan_is_valid(core: str) -> bool:
    """Reference implementation of the MPAN core check digit.

    >>> mpan_is_valid("2143967712809")
    True
    """
    return mpan_weighted_sum(core) % 11 % 10 == int(core[12])


def test_reference_mpan_check_follows_the_worked_example() -> None:
    assert mpan_weighted_sum("2143967712809") == 1142
    assert 1142 % 11 == 9
    assert all(mpan_is_valid(core) for core in DOCUMENTED_MPAN_CORES)


def single_changes(text: str, alphabet: str, positions: range) -> Iterator[str]:
    for position in positions:
        for character in alphabet:
            if character != text[position]:
                yield text[:position] + character + text[position + 1 :]


@pytest.fixture(scope="module")
def mpan_check_flags() -> dict[str, bool]:
    """Every documented MPAN core and every single-digit change of it, mapped to 'flagged'."""
    cores = set(DOCUMENTED_MPAN_CORES)
    for core in DOCUMENTED_MPAN_CORES:
        cores.update(single_changes(core, "0123456789", range(13)))
    return flagged_values(
        cores, FDI.FlexibleAsset, FDI.mpanCore, FDISH["Asset-mpanCore-checkDigit"]
    )


def flagged_values(
    values: set[str], record_type: URIRef, prop: URIRef, shape: URIRef
) -> dict[str, bool]:
    """Validate all values at once, as values of one record, with one shape only."""
    data = Graph()
    data.add((EX.record, RDF.type, record_type))
    for value in values:
        data.add((EX.record, prop, Literal(value)))
    report = validate(data, use_shapes=[shape])
    flagged = {str(report.value(result, SH.value)) for result in report.objects(None, SH.result)}
    return {value: value in flagged for value in values}


def test_documented_mpan_cores_pass_the_check_digit_rule(mpan_check_flags: dict[str, bool]) -> None:
    assert [core for core in DOCUMENTED_MPAN_CORES if mpan_check_flags[core]] == []


def test_single_digit_changes_fail_exactly_when_they_break_the_check_digit(
    mpan_check_flags: dict[str, bool],
) -> None:
    broken = {core for core in mpan_check_flags if not mpan_is_valid(core)}
    assert len(broken) > 500
    assert {core for core, flagged in mpan_check_flags.items() if flagged} == broken


def test_check_digit_message_names_the_mpan_and_the_right_digit() -> None:
    data = Graph().parse(FIXTURES / "invalid" / "asset-mpanCore-checkDigit.ttl", format="turtle")
    (message,) = messages(validate(data, use_shapes=[FDISH["Asset-mpanCore-checkDigit"]]))
    assert "1212345678903" in message and "check digit" in message and "would be 2" in message


# ---------------------------------------------------------------- LEI check digits

PUBLISHED_LEIS = (
    "5493001KJTIIGC8Y1R12",
    "213800D1EI4B9WTWWD28",
    "529900T8BM49AURSDO55",
    "7LTWFZYICNSX8D621K86",
)


def lei_is_valid(lei: str) -> bool:
    """Reference implementation of ISO 7064 MOD 97-10 as used by ISO 17442 (letters A..Z = 10..35).

    >>> lei_is_valid("5493001KJTIIGC8Y1R12")
    True
    """
    return int("".join(str(int(character, 36)) for character in lei)) % 97 == 1


def test_reference_lei_check_accepts_published_leis() -> None:
    assert all(lei_is_valid(lei) for lei in PUBLISHED_LEIS)
    assert not lei_is_valid("5493001KJTIIGC8Y1R13")


@pytest.fixture(scope="module")
def lei_check_flags() -> dict[str, bool]:
    """Each published LEI and single-character changes keeping its format, mapped to flagged."""
    leis = set(PUBLISHED_LEIS)
    for lei in PUBLISHED_LEIS:
        leis.update(single_changes(lei, "07AKZ", range(18)))
        leis.update(single_changes(lei, "0123456789", range(18, 20)))
    return flagged_values(leis, FDI.Organisation, FDI.lei, FDISH["Organisation-lei-checkDigits"])


def test_published_leis_pass_the_check_digit_rule(lei_check_flags: dict[str, bool]) -> None:
    assert [lei for lei in PUBLISHED_LEIS if lei_check_flags[lei]] == []


def test_changed_leis_fail_exactly_when_they_break_the_check_digits(
    lei_check_flags: dict[str, bool],
) -> None:
    broken = {lei for lei in lei_check_flags if not lei_is_valid(lei)}
    assert len(broken) > 300
    assert {lei for lei, flagged in lei_check_flags.items() if flagged} == broken
