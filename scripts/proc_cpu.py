"""CPU time of processes from /proc (Linux), for benchmarks that split cost per process.

    meter = CpuMeter({"bot": [bot_pid], "rasa": [rasa_pid]})
    before = meter.sample()
    ...                                   # the measured window
    used = meter.sample() - before        # seconds of CPU (user + system) per group

A group's CPU is the sum over its processes (all threads included: /proc/<pid>/stat counts
every thread of a process); pass `lambda: process_tree(pid)` to include a process's children.
The clock-tick resolution (usually 10 ms) is why the windows have to be seconds long. No dependency beyond the standard library.

As a command: `scripts/proc_cpu.py PID [PID...] [--seconds 5]` prints CPU ms/s per process.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a live process (all its threads), or None when it is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = raw.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return found
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def process_tree(pid: int) -> list[int]:
    """The process and its live descendants."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children(current)
    return tree


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """CPU seconds per live process of `pids` (each process once)."""
    seen: dict[int, float] = {}
    for pid in pids:
        if pid not in seen:
            cpu = process_cpu_seconds(pid)
            if cpu is not None:
                seen[pid] = cpu
    return seen


def pid_listening_on(port: int, host: str = "127.0.0.1") -> int | None:
    """The pid of the local process listening on TCP `port` (None if not found or not ours)."""
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(inode)
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in targets:
                    return int(entry.name)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return None


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot, all cores (from /proc/stat)."""
    fields = (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def cpu_pressure_seconds() -> float | None:
    """Seconds (since boot) during which some runnable task waited for a CPU: PSI's "some"
    total from /proc/pressure/cpu. Its growth over a window, divided by the window, is the
    share of the time the machine was short of CPU (None where the kernel lacks PSI)."""
    try:
        first = (PROC / "pressure" / "cpu").read_text().splitlines()[0]
    except (FileNotFoundError, PermissionError, OSError, IndexError):
        return None
    total = dict(part.split("=") for part in first.split()[1:]).get("total")
    return int(total) / 1e6 if total is not None else None


def loadavg() -> tuple[float, float, float]:
    """`uptime`'s load averages (1, 5, 15 minutes)."""
    one, five, fifteen = (PROC / "loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds per process, per group, at one moment (monotonic `at`)."""

    at: float
    groups: Mapping[str, Mapping[int, float]]

    def __sub__(self, before: CpuSample) -> CpuUsage:
        used: dict[str, float] = {}
        for name, now in self.groups.items():
            then = before.groups.get(name, {})
            # A process that appeared during the window counts from zero; one that ended
            # during it is lost (its CPU is no longer in /proc): keep processes alive.
            used[name] = sum(cpu - then.get(pid, 0.0) for pid, cpu in now.items())
        return CpuUsage(seconds=used, wall=self.at - before.at)


@dataclass(frozen=True)
class CpuUsage:
    seconds: Mapping[str, float]  # CPU seconds per group over the window
    wall: float  # the window, seconds

    def ms_per(self, name: str, count: float) -> float | None:
        if name not in self.seconds or count <= 0:
            return None
        return self.seconds[name] * 1000 / count

    def utilisation(self, name: str) -> float | None:
        """CPU seconds per wall second (1.0 = one core busy)."""
        if name not in self.seconds or self.wall <= 0:
            return None
        return self.seconds[name] / self.wall


class CpuMeter:
    """Samples the CPU of named groups of processes.

    A group is a list of pids, or a callable returning one (for processes that come and go,
    such as the database server's backends found by a query, or `process_tree(pid)`).
    """

    def __init__(self, groups: Mapping[str, Iterable[int] | Callable[[], Iterable[int]]]) -> None:
        self._groups = dict(groups)

    def sample(self) -> CpuSample:
        at = time.monotonic()
        values: dict[str, dict[int, float]] = {}
        for name, pids in self._groups.items():
            values[name] = cpu_seconds(pids() if callable(pids) else pids)
        return CpuSample(at=at, groups=values)


def main() -> int:
    parser = argparse.ArgumentParser(description="CPU ms/s per process, with its children.")
    parser.add_argument("pids", type=int, nargs="+")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    meter = CpuMeter({str(pid): functools.partial(process_tree, pid) for pid in args.pids})
    before = meter.sample()
    time.sleep(args.seconds)
    used = meter.sample() - before
    for pid in args.pids:
        share = used.utilisation(str(pid)) or 0.0
        print(f"{pid:>8}  {share * 1000:7.1f} CPU ms/s  ({share:.0%} of a core)")
    print(f"load average {' '.join(f'{x:.2f}' for x in loadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
