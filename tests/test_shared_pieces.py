"""Shared pieces written once (issue 15): one clock, one If-Match rule, one activity builder,
one media-type table, IRIs minted in one module, vocabulary IRIs only in ``vocab.py``.

Each test fails when a second copy appears anywhere in ``registry/`` or ``api/``, naming the
file and line.
"""

import ast
import doctest
import importlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "registry").rglob("*.py"), *(ROOT / "api").rglob("*.py")])

VOCAB = "registry/base/vocab.py"  # where the namespace itself is spelled

Finder = Callable[[ast.Module, str], Iterator[int]]


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def docstring_nodes(tree: ast.Module) -> set[int]:
    """The ids of docstring constants (their examples may spell anything)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def strings(tree: ast.Module) -> Iterator[ast.Constant]:
    """Every string constant in code, docstrings left out."""
    skip = docstring_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node


def copies(find: Finder, owners: set[str]) -> list[str]:
    """``file:line`` of each place ``find`` reports outside the owners."""
    found = []
    for path in SOURCES:
        name = relative(path)
        if name in owners:
            continue
        source = path.read_text()
        found += [f"{name}:{line}" for line in find(ast.parse(source), source)]
    return found


# --- one clock ---------------------------------------------------------------------------


def reads_the_wall_clock(tree: ast.Module, source: str) -> Iterator[int]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"now", "utcnow", "today"}
            and ast.unparse(node.func.value).split(".")[-1] in {"datetime", "date"}
        ):
            yield node.lineno


def test_the_time_is_read_only_in_the_clock_module():
    found = copies(reads_the_wall_clock, {"registry/base/clock.py"})
    assert not found, f"use registry.base.clock instead of reading the time at: {found}"


def test_the_clock_guard_sees_a_copy():
    tree = ast.parse("import datetime as dt\nx = dt.datetime.now(dt.UTC)\n")
    assert list(reads_the_wall_clock(tree, "")) == [2]


# --- one If-Match rule -------------------------------------------------------------------


PRECONDITION_ERRORS = {"PreconditionFailed", "PreconditionRequired"}


def compares_etags(tree: ast.Module, source: str) -> Iterator[int]:
    """An If-Match rule of its own: a function matching ETags, or a 412/428 raised by hand.
    (``If-None-Match`` on reads is another rule, with weak comparison: api/negotiation.py.)"""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and "etag" in node.name and "match" in node.name:
            yield node.lineno
        if isinstance(node, ast.Call) and ast.unparse(node.func) in PRECONDITION_ERRORS:
            yield node.lineno


def test_if_match_is_compared_in_one_place():
    found = copies(compares_etags, {"registry/kernel/preconditions.py"})
    assert not found, f"use registry.kernel.preconditions instead of comparing ETags at: {found}"


def _at_version(version: int):
    from registry.kernel.transaction import RecordInfo

    return RecordInfo("https://r.example/id/org/1", "t", "g", version, None, None, "", "", 1)


def test_the_if_match_guard_sees_a_rule_of_its_own():
    tree = ast.parse(
        "def etag_matches(h, v):\n    return h == v\nif stale:\n    raise PreconditionFailed('x')\n"
    )
    assert list(compares_etags(tree, "")) == [1, 4]


def test_a_status_change_takes_a_list_and_a_representation_etag_as_an_update_does():
    from registry.kernel.preconditions import check_version

    check_version(_at_version(3), '"2", W/"3.ttl"')  # the lifecycle check refused this before
    check_version(_at_version(3), None)  # a status change may leave If-Match out


def test_a_stale_if_match_is_412_naming_the_current_etag():
    from registry.base.errors import PreconditionFailed
    from registry.kernel.preconditions import check_version

    with pytest.raises(PreconditionFailed) as refused:
        check_version(_at_version(3), '"2"')
    assert refused.value.status == 412 and '"3"' in refused.value.detail


def test_an_update_without_if_match_is_428():
    from registry.base.errors import PreconditionRequired
    from registry.kernel.preconditions import require_if_match

    for header in (None, ""):
        with pytest.raises(PreconditionRequired) as refused:
            require_if_match(header)
        assert refused.value.status == 428


def test_status_changes_and_updates_share_the_rule():
    from registry.kernel import lifecycle, preconditions, writes

    assert lifecycle.check_version is preconditions.check_version
    assert writes.etag_matches is preconditions.etag_matches


# --- one activity builder ----------------------------------------------------------------

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"


def writes_the_activity_context(tree: ast.Module, source: str) -> Iterator[int]:
    """The ActivityStreams context spelled out (an activity built by hand)."""
    for node in strings(tree):
        if AS_CONTEXT in node.value:
            yield node.lineno


def test_activities_are_built_in_one_place():
    found = copies(writes_the_activity_context, {"registry/base/activities.py", VOCAB})
    assert not found, f"use registry.base.activities instead of building activities at: {found}"


def test_the_activity_guard_sees_a_context_spelled_out():
    tree = ast.parse(f'a = {{"@context": "{AS_CONTEXT}", "type": "Create"}}')
    assert list(writes_the_activity_context(tree, "")) == [1]


def test_the_inbox_builds_notifications_with_the_one_builder():
    from registry.base import activities
    from registry.messaging import inbox

    assert inbox.activity is activities.notification
    assert inbox.AS_CONTEXT == AS_CONTEXT == activities.AS_CONTEXT


# --- one media-type table ---------------------------------------------------------------

MEDIA_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")


def tabulates_media_types(tree: ast.Module, source: str) -> Iterator[int]:
    """A table of media types: a dict with two or more media types as keys or as values
    (OpenAPI's ``content`` maps, whose values are dicts, are not tables of formats)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        keys = [
            k for k in node.keys if isinstance(k, ast.Constant) and MEDIA_TYPE.match(str(k.value))
        ]
        values = [
            v for v in node.values if isinstance(v, ast.Constant) and MEDIA_TYPE.match(str(v.value))
        ]
        described = [v for v in node.values if isinstance(v, ast.Dict)]
        if (len(keys) >= 2 and not described) or len(values) >= 2:
            yield node.lineno


def test_media_types_are_tabulated_once():
    found = copies(tabulates_media_types, {"registry/base/media.py"})
    assert not found, f"read registry.base.media instead of a table of media types at: {found}"


def test_the_media_guard_sees_a_table():
    tree = ast.parse('X = {"text/turtle": 1, "application/n-triples": 2}')
    assert list(tabulates_media_types(tree, "")) == [1]


# --- IRIs minted in one module ----------------------------------------------------------


def builds_record_iris(tree: ast.Module, source: str) -> Iterator[int]:
    """A record IRI put together by hand: ``f"{base}id/..."`` or ``base + "id/..."``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            pairs = zip(node.values, node.values[1:], strict=False)
            if any(
                isinstance(a, ast.FormattedValue)
                and isinstance(b, ast.Constant)
                and str(b.value).startswith("id/")
                for a, b in pairs
            ):
                yield node.lineno
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Add)
            and isinstance(node.right, ast.Constant)
            and str(node.right.value).startswith("id/")
        ):
            yield node.lineno


def test_record_iris_are_minted_in_one_module():
    found = copies(builds_record_iris, {"registry/base/iris.py"})
    assert not found, f"use registry.base.iris instead of building record IRIs at: {found}"


def test_the_iri_guard_sees_both_spellings():
    tree = ast.parse('a = f"{base}id/org/{uid}"\nb = base + "id/user/x"\nc = "id/"')
    assert sorted(builds_record_iris(tree, "")) == [1, 2]


# --- vocabulary terms only from vocab.py -------------------------------------------------


def namespaces() -> list[str]:
    from registry.base import vocab

    return [v.iri for v in vars(vocab).values() if isinstance(v, vocab.Namespace)]


def spells_vocabulary_iris(tree: ast.Module, source: str) -> Iterator[int]:
    """A vocabulary's namespace spelled in a string (a term, a PREFIX line, a namespace)."""
    spelled = namespaces()
    for node in strings(tree):
        if any(namespace in node.value for namespace in spelled):
            yield node.lineno


def test_vocabulary_iris_are_spelled_only_in_vocab():
    found = copies(spells_vocabulary_iris, {VOCAB})
    assert not found, (
        "use registry.base.vocab's terms (and sparql_prefixes for PREFIX lines) instead of "
        f"spelling vocabulary IRIs at: {found}"
    )


def test_the_vocabulary_guard_sees_a_prefix_line_but_not_a_docstring():
    tree = ast.parse(
        '"""fdi is https://w3id.org/fdi/ns#"""\nQ = "PREFIX fdi: <https://w3id.org/fdi/ns#>"\n'
    )
    assert list(spells_vocabulary_iris(tree, "")) == [2]


# --- the shared modules' own examples ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "registry.base.clock",
        "registry.base.activities",
        "registry.base.media",
        "registry.base.iris",
        "registry.kernel.preconditions",
    ],
)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
