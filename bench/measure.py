"""Timing, statistics, processes and the machine: what every scenario measures with.

Wall time is what a user waits; on a shared machine it also counts other programs, so CPU
time (``time.process_time``, this process only) is recorded beside it where the work is
in-process. Latencies are summarised by median and 95th percentile.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation; NaN for no values.

    >>> percentile([1, 2, 3, 4], 0.5)
    2.5
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Sample:
    """Repeated measurements of one thing, in seconds."""

    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def p95(self) -> float:
        return percentile(self.values, 0.95)

    def ms(self) -> dict[str, float]:
        return {
            "p50_ms": round(self.median * 1000, 3),
            "p95_ms": round(self.p95 * 1000, 3),
            "n": len(self.values),
        }


def repeat(
    action: Callable[[], Any],
    times: int,
    warmup: int = 1,
    budget: float | None = None,
    minimum: int = 3,
) -> Sample:
    """Time ``action`` ``times`` times (after ``warmup`` untimed calls).

    With a ``budget`` (seconds), stop early once the timed calls have taken that long and at
    least ``minimum`` were timed: ``len(sample.values)`` says how many were.
    """
    for _ in range(warmup):
        action()
    sample = Sample()
    spent = 0.0
    for _ in range(times):
        if budget is not None and spent >= budget and len(sample.values) >= minimum:
            break
        start = time.perf_counter()
        action()
        took = time.perf_counter() - start
        sample.values.append(took)
        spent += took
    return sample


@dataclass
class Clock:
    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def clock() -> Iterator[Clock]:
    """Wall and CPU seconds of a block."""
    found = Clock()
    wall, cpu = time.perf_counter(), time.process_time()
    yield found
    found.wall = time.perf_counter() - wall
    found.cpu = time.process_time() - cpu


@dataclass
class Peak:
    rss_bytes: int = 0


@contextmanager
def peak_rss(pid: int | None = None, every: float = 1.0) -> Iterator[Peak]:
    """The largest resident memory of ``pid`` (default: this process) and its children during
    a block, sampled every ``every`` seconds from /proc by a background thread."""
    found = Peak()
    pid = os.getpid() if pid is None else pid
    done = threading.Event()

    def sample() -> None:
        while True:
            found.rss_bytes = max(found.rss_bytes, process_tree_rss(pid))
            if done.wait(every):
                return

    watcher = threading.Thread(target=sample, name="peak-rss", daemon=True)
    watcher.start()
    try:
        yield found
    finally:
        done.set()
        watcher.join()
        found.rss_bytes = max(found.rss_bytes, process_tree_rss(pid))


def peer_command(command: str) -> str | None:
    """The path of a peer's command (``oxigraph``, ``rdflib-endpoint``): first beside the
    interpreter running the benchmark, so a virtual environment's own peers are found when it
    is not activated, then on ``PATH``; None when neither has it."""
    beside = Path(sys.executable).parent / command
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(command)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server in a child process on a loopback port, stopped (by its own id) on exit."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        url: str,
        probe: str,
        log: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name, self.argv, self.url, self.probe, self.log = name, argv, url, probe, log
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.started_in = float("nan")

    def start(self, timeout: float = 600) -> Server:
        """Start, and wait until ``probe`` answers 200 (``started_in``: seconds it took)."""
        begin = time.perf_counter()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        deadline = begin + timeout
        with httpx.Client(timeout=5) as client:
            while time.perf_counter() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.process.returncode}; see {self.log}"
                    )
                try:
                    if client.get(self.url + self.probe).status_code == 200:
                        self.started_in = time.perf_counter() - begin
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"{self.name} did not answer within {timeout} s; see {self.log}")

    def rss_bytes(self) -> int:
        """Resident memory of the server and every process it started."""
        return process_tree_rss(self.process.pid) if self.process else 0

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(20)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def process_tree_rss(pid: int) -> int:
    """VmRSS of ``pid`` and its descendants, from /proc (Linux), in bytes."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parent = int(fields.get("PPid", "0").strip() or 0)
        children.setdefault(parent, []).append(int(entry.name))
        rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo.extend(children.get(current, []))
    return total


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import pyoxigraph
    import pyshacl

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "pyoxigraph": pyoxigraph.__version__,
        "pyshacl": pyshacl.__version__,
        "oxigraph_cli": peer_command("oxigraph") is not None,
        "load_average_at_start": os.getloadavg(),
    }
