"""Running the docs as a newcomer would: every shell and Python snippet of README.md and
docs/*.md, in order, and the output each shows.

A page's snippets are the fences tagged ``sh``, ``bash``, ``shell``, ``console`` (shell) or
``python``, ``py`` (Python). Each page runs in its own fresh temporary directory holding a copy
of ``examples/``, in **one** bash process (so ``R=...`` in one snippet is seen by the next, as
when pasting into one terminal) with ``set -u`` (a variable used before the page
defines it is an error) and, within each snippet, ``set -e -o pipefail`` (the first failing
command fails the page). Python snippets run as ``python3 FILE`` in that directory. ``fdi`` and
``python3`` are the test interpreter's (its ``bin`` comes first on ``PATH``); no ``FDI_*``
variable is inherited; ``HOME`` is the temporary directory.

Two rewrites: the ports the docs name (8443, 8000, 7878) become free loopback ports in the
snippets and the expected output, so that a page runs beside anything else on the machine; and
a command run in the background (a line ending in ``&``) writes its output to the page's
background log rather than into the output of whichever snippet runs while it logs.
Background servers (``fdi serve ... &``) share the bash process's process group, which is
killed when the page ends, whatever happened.

A fence tagged ``text``, ``json`` or nothing, directly after a snippet (blank lines between
at most), is the output that snippet shows, and is checked (:func:`output_matches`). A snippet
that cannot run has ``<!-- not run: <why> -->`` on the line right before its fence; the reason
is required, and the marker must stand before a snippet. A fence in another language is shown,
never run: data and configuration (``turtle``, ``sparql``, ``nginx``, ...); a language the
harness does not know, or an untagged fence of commands that is no snippet's output, is refused
(:class:`DocError`), so that no command can sit in a page untested by mistake.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
SHELL = {"sh", "bash", "shell", "console"}
PYTHON = {"python", "py"}
OUTPUT = {"text", "json", ""}
# Fences that are shown, never run: data and configuration in other languages.
SHOWN = {"turtle", "sparql", "nginx", "jsonld", "html", "xml", "csv", "http"}
COMMAND = re.compile(r"^\s*(\$ |fdi |curl |python3? |pip |jq |openssl |export |oxigraph )")
PORTS = ("8443", "8000", "7878")
BACKGROUND = re.compile(r"^(?P<command>.*[^&\s])\s*&(?P<comment>\s*(#.*)?)$")
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<why>.*?)\s*-->\s*$", re.S)
ELLIPSIS = re.compile(r"\.\.\.|…")


@dataclass
class Snippet:
    page: str
    line: int  # 1-based line of the opening fence
    language: str  # "sh" or "python"
    code: str
    expected: str | None = None  # the output the page shows
    expected_format: str = "text"  # "text" or "json"
    not_run: str | None = None  # why, when the page says it cannot run

    def where(self) -> str:
        return f"{self.page}:{self.line}"


class DocError(Exception):
    """A page breaks the harness's rules: a not-run marker without a reason or before no
    snippet, a fence in an unknown language, or untagged commands that are no output."""


def pages() -> list[Path]:
    """README.md and every docs/*.md, as found now."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def snippets(path: Path) -> list[Snippet]:
    """The page's snippets in order, each with the output it shows and its not-run reason."""
    text = path.read_text(encoding="utf-8")
    page = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    found: list[Snippet] = []
    pending_marker: tuple[int, str] | None = None  # (line after the marker, reason)
    last: Snippet | None = None
    last_end = -1
    for token in MarkdownIt("commonmark").parse(text):
        if token.type == "html_block" and token.content.lstrip().startswith("<!-- not run"):
            match = NOT_RUN.match(token.content.strip())
            if not match or not match.group("why"):
                raise DocError(f"{page}:{token.map[0] + 1}: a not-run marker needs a reason")
            pending_marker = (token.map[1], match.group("why"))
            continue
        if token.type != "fence":
            continue
        start, end = token.map
        info = token.info.strip().split()[0].lower() if token.info.strip() else ""
        runnable = info in SHELL or info in PYTHON
        if not runnable and info not in OUTPUT | SHOWN:
            raise DocError(
                f"{page}:{start + 1}: a fence in {info!r}: tag it sh or python to run it, "
                "or text to show it"
            )
        if pending_marker is not None and (pending_marker[0] != start or not runnable):
            raise DocError(
                f"{page}:{start + 1}: a not-run marker must stand on the line right before "
                "a shell or Python fence"
            )
        if runnable:
            last = Snippet(
                page,
                start + 1,
                "sh" if info in SHELL else "python",
                token.content,
                not_run=pending_marker[1] if pending_marker else None,
            )
            found.append(last)
        elif info in OUTPUT and last is not None and _blank_between(text, last_end, start):
            last.expected = token.content
            last.expected_format = "json" if info == "json" else "text"
            last = None
        else:
            if not info and any(COMMAND.match(line) for line in token.content.splitlines()):
                raise DocError(
                    f"{page}:{start + 1}: an untagged fence of commands that is not a snippet's "
                    "output: tag it sh (or python) to run it"
                )
            last = None
        pending_marker = None
        last_end = end
    if pending_marker is not None:
        raise DocError(f"{page}: a not-run marker at the end stands before no snippet")
    return found


def _blank_between(text: str, end: int, start: int) -> bool:
    lines = text.splitlines()[end:start]
    return end >= 0 and all(not line.strip() for line in lines)


# -- comparing output ------------------------------------------------------------------------


def output_matches(expected: str, actual: str, expected_format: str = "text") -> str | None:
    """None when ``actual`` shows what ``expected`` says, else why not.

    Text: every non-blank expected line, stripped, must match a line of the output, in the
    same order (other lines may come between); ``...`` (or ``…``) in a line matches anything,
    and a line that is only ``...`` is skipped. JSON: the output's last JSON value must hold
    every member the expected one names, with equal values (strings: ``...`` matches
    anything; arrays: same length, element by element); members it does not name may be there.
    """
    if expected_format == "json":
        return _json_matches(json.loads(expected), _last_json(actual), "$")
    lines = [line.strip() for line in actual.splitlines()]
    at = 0
    for want in expected.splitlines():
        want = want.strip()
        if not want or ELLIPSIS.fullmatch(want):
            continue
        pattern = _pattern(want)
        while at < len(lines) and not pattern.fullmatch(lines[at]):
            at += 1
        if at == len(lines):
            return f"no line matching {want!r} (in order) in the output"
        at += 1
    return None


def _pattern(want: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in ELLIPSIS.split(want)), re.S)


def _last_json(actual: str) -> object:
    decoder = json.JSONDecoder()
    value: object = None
    found = False
    at = 0
    while at < len(actual):
        if actual[at] in "{[":
            try:
                value, end = decoder.raw_decode(actual, at)
                found = True
                at = end
                continue
            except json.JSONDecodeError:
                pass
        at += 1
    if not found:
        raise AssertionError("no JSON in the output")
    return value


def _json_matches(want: object, got: object, where: str) -> str | None:
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{where}: expected an object, got {got!r}"
        for key, value in want.items():
            if key not in got:
                return f"{where}: no member {key!r}"
            if (why := _json_matches(value, got[key], f"{where}.{key}")) is not None:
                return why
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return f"{where}: expected {len(want)} items, got {got!r}"
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            if (why := _json_matches(w, g, f"{where}[{i}]")) is not None:
                return why
        return None
    if isinstance(want, str) and isinstance(got, str):
        return None if _pattern(want).fullmatch(got) else f"{where}: {got!r} is not {want!r}"
    return None if want == got and type(want) is type(got) else f"{where}: {got!r} != {want!r}"


# -- running a page --------------------------------------------------------------------------


@dataclass
class Result:
    snippet: Snippet
    output: str
    ran: bool  # False: a snippet after the one that failed
    failed: bool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rewrite_ports(text: str, ports: dict[str, str]) -> str:
    return re.sub(r"\b(" + "|".join(ports) + r")\b", lambda m: ports[m.group(1)], text)


def quiet_background(code: str, log: str) -> str:
    """``code`` with each background command's output appended to ``log``."""
    lines = []
    for line in code.splitlines():
        match = BACKGROUND.match(line)
        if match:
            line = f"{match['command']} >>{log} 2>&1 &{match['comment']}"
        lines.append(line)
    return "\n".join(lines) + "\n"


@dataclass
class PageRun:
    results: list[Result]
    status: int  # the page's shell: 0, a failing command's status, or -1 when it timed out
    background: str  # what the background commands wrote

    def failure(self) -> str | None:
        """Why the page failed, with the output to look at; None when every snippet ran and
        showed what the page says."""
        for result in self.results:
            snippet = result.snippet
            if result.failed and self.status == -1:
                return self._report(result, "did not finish: the page timed out")
            if result.failed:
                return self._report(result, f"failed (status {self.status})")
            if not result.ran:
                return self._report(result, "did not run (the page timed out?)")
            if snippet.expected is not None:
                why = output_matches(snippet.expected, result.output, snippet.expected_format)
                if why is not None:
                    return self._report(result, f"does not show its output: {why}")
        if self.status != 0:
            return f"the page's shell ended with status {self.status}"
        return None

    def _report(self, result: Result, what: str) -> str:
        return (
            f"{result.snippet.where()}: the snippet {what}\n--- snippet\n{result.snippet.code}"
            f"--- its output\n{result.output[-4000:]}\n--- background log (end)\n"
            f"{self.background[-2000:]}"
        )


def run_page(path: Path, timeout: float = 240.0) -> PageRun:
    """Run the page's snippets in a fresh directory (see the module docstring)."""
    page = snippets(path)
    ports = {port: str(free_port()) for port in PORTS}
    work = Path(tempfile.mkdtemp(prefix="fdi-docs-"))
    try:
        shutil.copytree(ROOT / "examples", work / "examples")
        control = work / ".snippets"
        control.mkdir()
        script = ["cd " + _quote(work), "set -u"]
        runs = [s for s in page if s.not_run is None]
        for n, snippet in enumerate(runs):
            code = rewrite_ports(snippet.code, ports)
            code = quiet_background(code, _quote(control / "background.log"))
            out = _quote(control / f"{n}.out")
            if snippet.language == "python":
                (control / f"{n}.py").write_text(code)
                code = "python3 " + _quote(control / f"{n}.py") + "\n"
            script.append(f"{{ set -e -o pipefail\n{code}}} >{out} 2>&1 </dev/null")
            script.append(f"set +e +o pipefail; echo {n} >{_quote(control / 'done')}")
        (control / "page.sh").write_text("\n".join(script) + "\n")
        status = _run_script(control / "page.sh", work, timeout)
        done = int((control / "done").read_text()) if (control / "done").exists() else -1
        results = []
        for n, snippet in enumerate(runs):
            output_file = control / f"{n}.out"
            output = output_file.read_text(errors="replace") if output_file.exists() else ""
            if snippet.expected is not None:
                snippet.expected = rewrite_ports(snippet.expected, ports)
            failed = n == done + 1 and status != 0
            results.append(Result(snippet, output, ran=n <= done + 1, failed=failed))
        log = control / "background.log"
        return PageRun(results, status, log.read_text(errors="replace") if log.exists() else "")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


def _environment(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FDI_", "PYTHON"))}
    # fdi beside the interpreter's scripts (with pyenv, not where a shim says), python3 beside it
    scripts = os.pathsep.join((sysconfig.get_path("scripts"), str(Path(sys.executable).parent)))
    env.update(
        PATH=scripts + os.pathsep + env.get("PATH", ""),
        HOME=str(work),
        COLUMNS="100",
        NO_COLOR="1",
        TERM="dumb",
    )
    env.pop("VIRTUAL_ENV", None)
    return env


def _run_script(script: Path, work: Path, timeout: float) -> int:
    """Run ``script`` with bash in its own process group; kill the whole group at the end, and
    any process that left the group (``setsid``) but still works in the page's directory."""
    with open(script.parent / "page.log", "wb") as log:
        process = subprocess.Popen(
            ["bash", str(script)],
            cwd=work,
            env=_environment(work),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return -1
        finally:
            _kill_group(process.pid)
            _kill_leftovers(work)


def _kill_leftovers(work: Path) -> None:
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            inside = Path(os.readlink(proc / "cwd")).is_relative_to(work)
        except OSError:
            continue
        if inside:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)


def _kill_group(pgid: int) -> None:
    for sig, pause in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + pause
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
