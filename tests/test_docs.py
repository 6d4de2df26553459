"""Issue 11 item 6, docs are tests: every shell and Python snippet of README.md and docs/*.md
runs, in order, as a newcomer would run it, and shows the output the page says it shows.

How a page runs, and how its output is compared, is in tests/docs.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import docs

PAGES = docs.pages()


def _runs_something(page: Path) -> bool:
    try:
        return any(snippet.not_run is None for snippet in docs.snippets(page))
    except docs.DocError:
        return True  # its test reports the error


RUNNABLE = [page for page in PAGES if _runs_something(page)]
TEST = "test_docs_are_tests_every_snippet_runs_and_shows_its_output"


def _id(page: Path) -> str:
    return page.relative_to(docs.ROOT).as_posix()


@pytest.fixture(scope="session")
def page_runs(request: pytest.FixtureRequest) -> Iterator[dict[Path, Future[docs.PageRun]]]:
    """The selected pages, run two at a time from the first test on (a page mostly waits on
    its servers and commands), longest first."""
    selected = [
        item.callspec.params["page"]
        for item in request.session.items
        if getattr(item, "originalname", None) == TEST
    ]
    selected.sort(key=lambda page: -page.stat().st_size)
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {page: pool.submit(docs.run_page, page) for page in selected}
        pool.shutdown(cancel_futures=True)


@pytest.mark.parametrize("page", RUNNABLE, ids=_id)
def test_docs_are_tests_every_snippet_runs_and_shows_its_output(
    page: Path, page_runs: dict[Path, Future[docs.PageRun]]
) -> None:
    failure = page_runs[page].result().failure()
    assert failure is None, failure


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_every_snippet_that_does_not_run_says_why(page: Path) -> None:
    for snippet in docs.snippets(page):
        assert snippet.not_run is None or len(snippet.not_run) > 10, snippet.where()


# The names docs/onboarding.md gives the certificates it makes; every page uses them.
CERTIFICATE_FILES = {"tls/ca.pem", "tls/server.pem", "tls/server.key"} | {
    f"{holder}/{whose}.{part}"
    for holder in ("operator", "mykeys", "mokeys")
    for whose in ("admin", "app")
    for part in ("pem", "key")
}


def test_every_page_names_the_certificate_files_alike() -> None:
    named = {
        (_id(page), match.group(1))
        for page in PAGES
        for match in re.finditer(
            r"--(?:cert|key|cacert|tls-cert|tls-key)[ =]([^\s`\\)\"']+\.(?:pem|key))\b",
            page.read_text(),
        )
    }
    assert {(page, name) for page, name in named if name not in CERTIFICATE_FILES} == set()


def test_the_readme_and_every_docs_page_are_found() -> None:
    names = {_id(page) for page in PAGES}
    assert {"README.md", "docs/onboarding.md", "docs/assets.md", "docs/operations.md"} <= names
    assert names == {"README.md"} | {
        f"docs/{p.name}" for p in (docs.ROOT / "docs").iterdir() if p.suffix == ".md"
    }


def test_output_lines_must_appear_in_order() -> None:
    assert docs.output_matches("one\ntwo", "zero\none\nmiddle\ntwo\n") is None
    assert docs.output_matches("two\none", "one\ntwo\n") is not None
    assert docs.output_matches("three", "one\ntwo\n") is not None


def test_dots_in_an_output_line_match_anything_but_the_rest_is_literal() -> None:
    assert docs.output_matches("wrote ... (job ...)", "wrote 4 (job 9f-2)") is None
    assert docs.output_matches("entry … is valid", "entry 12 is valid") is None
    assert docs.output_matches("id/org/...", "id/org/x") is None
    assert docs.output_matches("a.c", "abc") is not None  # '.' is not a wildcard
    assert docs.output_matches("4 registered", "3 registered") is not None


def test_json_output_must_hold_every_member_shown_with_equal_values() -> None:
    shown = '{"roles": ["FlexibilityServiceProvider"], "certificate": "..."}'
    actual = 'log line\n{"roles": ["FlexibilityServiceProvider"], "certificate": "6a1f", "x": 1}'
    assert docs.output_matches(shown, actual, "json") is None
    assert docs.output_matches(shown, '{"roles": [], "certificate": "6a1f"}', "json") is not None
    assert docs.output_matches(shown, '{"roles": ["FlexibilityServiceProvider"]}', "json")
    assert docs.output_matches('{"n": 1}', '{"n": true}', "json") is not None


def test_a_fence_after_a_snippet_is_its_output_and_a_marker_skips_a_snippet(tmp_path) -> None:
    page = _page(
        tmp_path,
        "```sh\necho hi\n```\n\n```text\nhi\n```\n\n"
        "<!-- not run: it serves in the foreground -->\n```sh\nfdi serve\n```\n\n"
        "Prose.\n\n```text\nnot an output\n```\n",
    )
    first, second = docs.snippets(page)
    assert (first.expected, first.not_run) == ("hi\n", None)
    assert (second.expected, second.not_run) == (None, "it serves in the foreground")


def test_a_marker_without_a_reason_or_away_from_a_snippet_is_refused(tmp_path) -> None:
    for text in (
        "<!-- not run: -->\n```sh\nls\n```\n",
        "<!-- not run: slow -->\n\n```sh\nls\n```\n",
        "<!-- not run: a diagram -->\n```text\nls\n```\n",
    ):
        with pytest.raises(docs.DocError):
            docs.snippets(_page(tmp_path, text))


def test_a_command_fence_that_would_not_run_is_refused(tmp_path) -> None:
    for text in (
        "```zsh\nfdi validate x.ttl\n```\n",  # a shell the harness does not know
        "Prose.\n\n```\nfdi validate x.ttl\n```\n",  # untagged, and no snippet's output
    ):
        with pytest.raises(docs.DocError):
            docs.snippets(_page(tmp_path, text))


def test_a_failing_command_fails_its_snippet_and_stops_the_page(tmp_path) -> None:
    page = _page(tmp_path, "```sh\necho one\nfalse\necho two\n```\n\n```sh\necho three\n```\n")
    run = docs.run_page(page, timeout=30)
    first, second = run.results
    assert first.failed and first.output == "one\n" and not second.ran
    assert "failed" in run.failure()


def test_a_variable_used_before_the_page_defines_it_fails(tmp_path) -> None:
    page = _page(tmp_path, "```sh\ncurl -s $TLS https://localhost:8443/\n```\n")
    run = docs.run_page(page, timeout=30)
    assert run.results[0].failed and "TLS: unbound variable" in run.results[0].output


def test_variables_and_files_carry_from_one_snippet_to_the_next(tmp_path) -> None:
    page = _page(
        tmp_path,
        "```sh\nR=https://localhost:8443\necho kept > kept.txt\n```\n\n"
        "```sh\necho $R $(cat kept.txt) examples/$(ls examples | head -1)\n```\n\n"
        "```text\nhttps://localhost:... kept examples/...\n```\n",
    )
    run = docs.run_page(page, timeout=30)
    assert run.failure() is None
    assert "8443" not in run.results[1].output  # the port became a free one


def test_a_background_server_is_stopped_when_the_page_ends(tmp_path) -> None:
    marker = tmp_path / "alive"
    page = _page(
        tmp_path,
        f"```sh\n(while true; do date +%s%N > {marker}; sleep 0.1; done) &\nsleep 0.5\n```\n",
    )
    assert docs.run_page(page, timeout=30).failure() is None
    before = marker.read_text()
    time.sleep(0.5)  # the behaviour: a live loop would have written the marker 5 times
    assert marker.read_text() == before


def test_a_server_that_left_the_process_group_is_stopped_too(tmp_path) -> None:
    marker = tmp_path / "alive"
    page = _page(
        tmp_path,
        f"```sh\nsetsid bash -c 'while true; do date +%s%N > {marker}; sleep 0.1; done' &\n"
        "sleep 0.5\n```\n",
    )
    assert docs.run_page(page, timeout=30).failure() is None
    before = marker.read_text()
    time.sleep(0.5)  # the behaviour: a live loop would have written the marker 5 times
    assert marker.read_text() == before


def test_a_wrong_output_fails_the_page(tmp_path) -> None:
    page = _page(tmp_path, "```sh\necho 3 registered\n```\n\n```text\n4 registered\n```\n")
    assert "does not show its output" in docs.run_page(page, timeout=30).failure()


def test_python_snippets_run_in_the_pages_directory(tmp_path) -> None:
    page = _page(
        tmp_path,
        "```python\nimport pathlib\nprint(sorted(p.name for p in pathlib.Path().iterdir()))\n```"
        "\n\n```text\n[...'examples'...]\n```\n",
    )
    assert docs.run_page(page, timeout=30).failure() is None


def _page(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "page.md"
    path.write_text(text)
    return path
