"""Read-only SPARQL for requesters: which queries run, over which graphs.

Every query is checked before it reaches Oxigraph (docs/facts.md, fact 4):

- its size, bracket nesting and number of operators are bounded (a few thousand nested
  brackets, ``!`` signs or ``MINUS`` blocks overflow the parser's stack);
- ``SERVICE`` may only call a peer registry on the ``federation_peers`` allow-list, named by
  its full IRI (``SERVICE ?endpoint`` and relative IRIs are refused): anything else would make
  the server send requests wherever a requester likes;
- updates (and with them ``LOAD``) are not accepted: the registry is written through its
  submissions, journaled and validated, never by SPARQL Update.

The checks read the query with a small lexer that knows where strings, comments and IRIs
begin and end, so ``"SERVICE"`` in a string is harmless while a ``SERVICE`` hidden behind an
escaped ``\\#`` in a prefixed name is still found.

The dataset is chosen from the graphs the requester may see (:func:`choose_dataset`):
``named_graphs`` is always set together with ``default_graph``, so ``GRAPH ?g`` cannot reach
any other graph, and a graph outside the permitted ones is simply empty.

>>> check_query("SELECT * WHERE { ?s ?p ?o }").services
()
>>> check_query('SELECT * { SERVICE <http://peer.example/sparql> {} }')  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
registry.base.errors.QueryRefused: SERVICE <http://peer.example/sparql> is not allowed: ...
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urljoin

import pyoxigraph as ox

from registry.base.errors import QueryRefused
from registry.store.index_protocol import Index

MAX_QUERY_CHARS = 20_000
MAX_NESTING = 64  # brackets of any kind: (), {}, []
MAX_OPERATORS = 1_000  # operators and pattern keywords, each a level of the query's tree
MAX_PREFIX_RUN = 32  # consecutive unary ! + - (each nests an expression)

# Spaces first: the most frequent token, and no other token can start with one.
_TOKENS = re.compile(
    r"(?P<space>\s+)"
    r'|(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n\r]|\\.)*"|\'(?:[^\'\\\n\r]|\\.)*\')'
    r'|(?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)'
    r"|(?P<comment>#[^\n\r]*)"
    r"|(?P<var>[?$]\w+)"
    r"|(?P<pname>(?:[^\W\d][\w.-]*)?:(?:[\w:%-]|\\.|\.(?=[\w:%\\-]))*)"
    r"|(?P<word>[^\W\d][\w-]*)"
    r"|(?P<escape>\\.)"
    r"|(?P<op>&&|\|\||!=|<=|>=|\^\^|[!=<>+\-*/|^])"
    r"|(?P<open>[({\[])|(?P<close>[)}\]])"
    r"|(?P<other>.)",
    re.DOTALL,
)
_PATTERN_KEYWORDS = frozenset(
    {
        "OPTIONAL",
        "MINUS",
        "UNION",
        "FILTER",
        "BIND",
        "GRAPH",
        "SERVICE",
        "EXISTS",
        "VALUES",
        "SELECT",
    }
)
_UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "COPY", "MOVE", "ADD", "WITH", "USING"}
)


class Token(NamedTuple):  # a tuple: a lookup has a few dozen, made on every query
    kind: str
    text: str


@dataclass(frozen=True)
class QueryShape:
    """What the checks found: the query's own dataset (``FROM``/``FROM NAMED``, resolved) and
    the peers its ``SERVICE`` clauses call."""

    from_graphs: tuple[str, ...] = ()
    from_named: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    prefixes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Dataset:
    """The graphs a query runs over: its default graph (their union) and its named graphs."""

    default: tuple[str, ...]
    named: tuple[str, ...]


@dataclass(frozen=True)
class QueryResult:
    """What a query returned: solutions, a boolean or triples (as pyoxigraph objects)."""

    kind: str  # "solutions", "boolean" or "graph"
    value: object


def tokens(text: str) -> list[Token]:
    """The query's tokens, without spaces and comments.

    >>> [t.text for t in tokens('ASK { ?s ex:p\\\\# "#" } # comment')]
    ['ASK', '{', '?s', 'ex:p\\\\#', '"#"', '}']
    """
    out = []
    for match in _TOKENS.finditer(text):
        kind = match.lastgroup or "other"
        if kind not in ("space", "comment"):
            out.append(Token(kind, match.group()))
    return out


def check_query(text: str, peers: Iterable[str] = (), base: str | None = None) -> QueryShape:
    """Refuse queries the endpoint will not run; return the dataset and services they name.

    ``peers`` are the SPARQL endpoints ``SERVICE`` may call; ``base`` resolves relative IRIs in
    ``FROM`` clauses. Raises QueryRefused saying why.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRefused(
            f"the query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}"
        )
    found = tokens(text)
    _check_nesting(found)
    _check_operators(found)
    words = [t.text.upper() for t in found if t.kind == "word"]
    if any(w in _UPDATE_KEYWORDS for w in words):
        raise QueryRefused(
            "this endpoint answers queries only; updates (and LOAD) are not accepted: "
            "the registry is written through its submissions"
        )
    prefixes, base = _prologue(found, base)
    services = tuple(_services(found, prefixes, set(peers)))
    from_graphs, from_named = _from_clauses(found, prefixes, base)
    absolute = tuple((p, iri) for p, iri in prefixes.items() if _absolute(iri))
    return QueryShape(tuple(from_graphs), tuple(from_named), services, absolute)


def relay_services(
    text: str, peers: Sequence[str], relay: Callable[[int], str], base: str | None = None
) -> str:
    """``text`` with the target of each ``SERVICE`` that names an allow-listed peer (written as
    an IRI or a prefixed name) replaced by ``<relay(n)>``, n the peer's place in ``peers``.
    For a query :func:`check_query` accepted, every ``SERVICE`` target is such a peer.

    >>> relay_services("PREFIX p: <http://peer/> ASK { SERVICE SILENT p:sparql {} }",
    ...                ["http://peer/sparql"], lambda n: f"http://relay/{n}")
    'PREFIX p: <http://peer/> ASK { SERVICE SILENT <http://relay/0> {} }'
    """
    spans = [m for m in _TOKENS.finditer(text) if m.lastgroup not in ("space", "comment")]
    found = [Token(m.lastgroup or "other", m.group()) for m in spans]
    prefixes, _ = _prologue(found, base)
    parts, last = [], 0
    for i, token in enumerate(found):
        if token.kind != "word" or token.text.upper() != "SERVICE":
            continue
        j = i + 1
        if j < len(found) and found[j].kind == "word" and found[j].text.upper() == "SILENT":
            j += 1
        iri = _expand(found[j], prefixes) if j < len(found) else None
        if iri is not None and iri in peers:
            parts += [text[last : spans[j].start()], f"<{relay(list(peers).index(iri))}>"]
            last = spans[j].end()
    return "".join(parts) + text[last:]


def _check_nesting(found: list[Token]) -> None:
    # Brackets inside IRIs count too: where the parser reads "<" as less-than, what looks like
    # an IRI here is an expression to it.
    depth = deepest = 0
    for token in found:
        if token.kind == "string":
            continue
        for ch in token.text:
            if ch in "({[":
                depth += 1
                deepest = max(deepest, depth)
            elif ch in ")}]":
                depth -= 1
    if deepest > MAX_NESTING:
        raise QueryRefused(f"the query nests brackets {deepest} deep; the limit is {MAX_NESTING}")


def _check_operators(found: list[Token]) -> None:
    count = run = longest = 0
    for token in found:
        upper = token.text.upper()
        if (token.kind == "op" and token.text != "^^") or (
            token.kind == "word" and upper in _PATTERN_KEYWORDS
        ):
            count += 1
        run = run + 1 if token.kind == "op" and token.text in "!+-" else 0
        longest = max(longest, run, _longest_prefix_run(token.text) if token.kind == "iri" else 0)
    if longest > MAX_PREFIX_RUN:
        raise QueryRefused(
            f"the query nests {longest} unary operators (! + -) in a row; "
            f"the limit is {MAX_PREFIX_RUN}"
        )
    if count > MAX_OPERATORS:
        raise QueryRefused(
            f"the query has {count} operators and pattern keywords; the limit is {MAX_OPERATORS}"
        )


def _longest_prefix_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"[!+\-]+", text)), default=0)


def _prologue(found: list[Token], base: str | None) -> tuple[dict[str, str], str | None]:
    prefixes: dict[str, str] = {}
    for i, token in enumerate(found[:-1]):
        upper = token.text.upper()
        if token.kind == "word" and upper == "BASE" and found[i + 1].kind == "iri":
            base = _join(base, found[i + 1].text[1:-1])
        elif token.kind == "word" and upper == "PREFIX" and i + 2 < len(found):
            name, iri = found[i + 1], found[i + 2]
            if name.kind == "pname" and name.text.endswith(":") and iri.kind == "iri":
                prefixes[name.text[:-1]] = _join(base, iri.text[1:-1])
    return prefixes, base


def _join(base: str | None, iri: str) -> str:
    return urljoin(base, iri) if base and not _absolute(iri) else iri


def _absolute(iri: str) -> bool:
    return re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", iri) is not None


def _expand(token: Token, prefixes: dict[str, str]) -> str | None:
    """The IRI a token names as written (prefixed names expanded), or None if it is neither."""
    if token.kind == "iri":
        return token.text[1:-1]
    if token.kind == "pname":
        prefix, _, local = token.text.partition(":")
        namespace = prefixes.get(prefix)
        return None if namespace is None else namespace + local
    return None


def _services(found: list[Token], prefixes: dict[str, str], peers: set[str]) -> Iterable[str]:
    for i, token in enumerate(found):
        if token.kind != "word" or token.text.upper() != "SERVICE":
            continue
        j = i + 1
        if j < len(found) and found[j].kind == "word" and found[j].text.upper() == "SILENT":
            j += 1
        target = found[j] if j < len(found) else Token("other", "")
        iri = _expand(target, prefixes)
        # Compared as written: an allowed peer's URL is absolute and needs no escapes, so any
        # other spelling (relative, escaped, dot segments) is a different, refused, target.
        if iri is None or iri not in peers:
            shown = f"<{iri}>" if iri is not None else (target.text or "(nothing)")
            allowed = ", ".join(sorted(peers)) or "none are configured"
            raise QueryRefused(
                f"SERVICE {shown} is not allowed: SERVICE may only call the peer registries on "
                f"the federation allow-list ({allowed})"
            )
        yield iri


def _from_clauses(
    found: list[Token], prefixes: dict[str, str], base: str | None
) -> tuple[list[str], list[str]]:
    default: list[str] = []
    named: list[str] = []
    for i, token in enumerate(found):
        if token.kind != "word" or token.text.upper() != "FROM" or i + 1 >= len(found):
            continue
        target, into = found[i + 1], default
        if target.kind == "word" and target.text.upper() == "NAMED" and i + 2 < len(found):
            target, into = found[i + 2], named
        iri = _expand(target, prefixes)
        if iri is not None:
            into.append(_join(base, iri))
    return default, named


def choose_dataset(
    permitted: Sequence[ox.NamedNode | str],
    default_graph_uris: Sequence[str] = (),
    named_graph_uris: Sequence[str] = (),
    shape: QueryShape | None = None,
) -> Dataset:
    """The dataset a query runs over, within the graphs the requester may see.

    The protocol's ``default-graph-uri``/``named-graph-uri`` come first, then the query's own
    ``FROM``/``FROM NAMED``; with neither, the default graph is the union of the permitted
    graphs and each of them is a named graph. A graph outside ``permitted`` is left out, as if
    empty: the requester learns nothing about it.

    >>> choose_dataset(["urn:g:public"], ["urn:g:public", "urn:g:secret"])
    Dataset(default=('urn:g:public',), named=())
    >>> choose_dataset(["urn:g:public"])
    Dataset(default=('urn:g:public',), named=('urn:g:public',))
    """
    allowed = [g.value if isinstance(g, ox.NamedNode) else g for g in permitted]
    shape = shape or QueryShape()
    if default_graph_uris or named_graph_uris:
        default, named = default_graph_uris, named_graph_uris
    elif shape.from_graphs or shape.from_named:
        default, named = shape.from_graphs, shape.from_named
    else:
        default = named = allowed
    return Dataset(_within(default, allowed), _within(named, allowed))


def _within(graphs: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(g for g in graphs if g in allowed))


def run_query(index: Index, text: str, graphs: list[ox.NamedNode]) -> QueryResult:
    """Run a checked read-only query over ``graphs`` (as default graph and named graphs), in
    this thread and without a time limit: for the registry's own callers. Requesters' queries
    go through :mod:`registry.query.sparql_pool`.

    Raises QueryRefused for unsafe or malformed queries.
    """
    check_query(text)
    try:
        result = index.query(text, graphs)
    except SyntaxError as e:
        raise QueryRefused(f"malformed query: {e}") from e
    if isinstance(result, ox.QueryBoolean):
        return QueryResult("boolean", bool(result))
    if isinstance(result, ox.QueryTriples):
        return QueryResult("graph", result)
    return QueryResult("solutions", result)
