"""The W3C SHACL test suites (core and SHACL-SPARQL), read from ``../shared/conformance``.

Every test is either compiled, and then the compiled engine's verdict (focus node, path, value,
constraint component, source shape, severity, as a multiset) equals the reference's, pySHACL on
an rdflib Graph parsed from the test's file; or its shapes are handed back, and then the
registry's hand-back path (pySHACL on rdflib over the submitted triples) gives that verdict.
The reference itself is held to the W3C expected reports. Nothing is skipped when
``../shared`` (or ``FDI_SHARED_DIR``) is there.
"""

from __future__ import annotations

from functools import cache

import pytest

from registry.shacl.engine import compile_shapes
from tests.shacl_reference import (
    W3CTest,
    engine_verdict,
    handed_back_verdict,
    ox_triples,
    parse,
    pyshacl_verdict,
    report_verdict,
    shared_dir,
    w3c_tests,
    without_blank_nodes,
)

TESTS = w3c_tests()
needs_suite = pytest.mark.skipif(
    shared_dir() is None, reason="../shared/conformance (or FDI_SHARED_DIR) is not there"
)

# The shapes the engine hands back to pySHACL, by test: what each uses that it does not compile.
HANDED_BACK = {
    "core/complex/personexample": "sh:closed",
    "core/complex/shacl-shacl": "sh:closed, sh:languageIn and others (SHACL for SHACL)",
    "core/misc/severity-002": "a severity of its own (not Violation, Warning or Info)",
    "core/node/closed-001": "sh:closed",
    "core/node/closed-002": "sh:closed",
    "core/node/languageIn-001": "sh:languageIn",
    "core/property/languageIn-001": "sh:languageIn",
    "core/property/uniqueLang-001": "sh:uniqueLang",
    "core/property/uniqueLang-002": "sh:uniqueLang",
    "sparql/component/nodeValidator-001": "a SPARQL-based constraint component",
    "sparql/component/optional-001": "a SPARQL-based constraint component",
    "sparql/component/propertyValidator-select-001": "a SPARQL-based constraint component",
    "sparql/component/validator-001": "a constraint component declared by a subclass",
    "sparql/node/prefixes-001": "owl:imports (prefixes declared in an imported graph)",
    "sparql/node/sparql-002": "$shapesGraph",
    "sparql/node/sparql-003": "$shapesGraph",
    "sparql/pre-binding/pre-binding-006": "a query pySHACL refuses (VALUES)",
    "sparql/pre-binding/shapesGraph-001": "$shapesGraph",
    "sparql/pre-binding/unsupported-sparql-001": "a query pySHACL refuses",
    "sparql/pre-binding/unsupported-sparql-002": "a query pySHACL refuses",
    "sparql/pre-binding/unsupported-sparql-003": "a query pySHACL refuses",
    "sparql/pre-binding/unsupported-sparql-004": "a query pySHACL refuses",
    "sparql/pre-binding/unsupported-sparql-005": "a query pySHACL refuses",
    "sparql/pre-binding/unsupported-sparql-006": "a query pySHACL refuses",
}
# Where the reference disagrees with the W3C expected report (pySHACL 0.40 on rdflib 7.6).
REFERENCE_DISAGREES = {
    "core/property/uniqueLang-002": "pySHACL also reports sh:uniqueLang true on ex:message",
    "sparql/pre-binding/shapesGraph-001": "pySHACL does not implement $shapesGraph",
}


@cache
def reference(test: W3CTest):
    """pySHACL's verdict on rdflib, or the type of the error it raises (once per test)."""
    try:
        return pyshacl_verdict(parse(test.data), parse(test.shapes))
    except Exception as e:  # noqa: BLE001 - refusing a test is pySHACL's verdict on it
        return type(e)


@needs_suite
def test_the_suites_are_all_there() -> None:
    names = {t.name for t in TESTS}
    assert len(TESTS) == 121 and len(names) == 121
    assert set(HANDED_BACK) | set(REFERENCE_DISAGREES) <= names


@needs_suite
@pytest.mark.parametrize("test", TESTS, ids=lambda t: t.name)
def test_compiled_verdict_equals_the_reference_or_the_shapes_are_handed_back(
    test: W3CTest,
) -> None:
    expected = reference(test)
    engine = compile_shapes(parse(test.shapes))
    assert (engine is None) == (test.name in HANDED_BACK)
    triples = ox_triples(test.data)
    if engine is not None:
        assert engine_verdict(engine, triples) == expected
        return
    if isinstance(expected, type):  # pySHACL refuses the shapes: so does the hand-back path
        with pytest.raises(expected):
            handed_back_verdict(parse(test.shapes), triples)
    else:
        assert handed_back_verdict(parse(test.shapes), triples) == expected


@needs_suite
@pytest.mark.parametrize("test", TESTS, ids=lambda t: t.name)
def test_the_reference_gives_the_w3c_expected_report(test: W3CTest) -> None:
    found = reference(test)
    if test.expected is None:  # sht:Failure: the shapes graph is ill-formed
        assert isinstance(found, type), "pySHACL accepted shapes the suite says are ill-formed"
        return
    agrees = not isinstance(found, type) and without_blank_nodes(found) == without_blank_nodes(
        report_verdict(test.expected, test.expected_node)
    )
    assert agrees == (test.name not in REFERENCE_DISAGREES)


@needs_suite
def test_most_w3c_tests_are_compiled() -> None:
    assert len(TESTS) - len(HANDED_BACK) >= 97
