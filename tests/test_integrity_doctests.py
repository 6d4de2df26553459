"""The examples in the docstrings of the receipt, key, limit and RDF-term modules run as tests."""

import doctest
import importlib

import pytest

MODULES = [
    "registry.proof.keys",
    "registry.proof.signatures",
    "registry.proof.receipts",
    "registry.submissions.limits",
    "registry.kernel.idempotency",
    "registry.operations.refusals",
    "registry.base.cycles",
    "registry.store.personal",
    "registry.base.rdf",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
