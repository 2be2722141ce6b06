"""Summarise a py-spy profile (collapsed stacks, `py-spy record --format raw`) as text tables.

Busy samples only (py-spy leaves idle threads out unless --idle is given; samples whose
innermost frame is a known blocking wait, such as an idle thread-pool worker in
`work_queue.get`, are left out too and counted), so shares answer "of the CPU this process
used, where did it go":

- own code: each sample is charged to the innermost frame in this project (bot/, storage/),
  i.e. that line plus the library work it called; samples with no own frame are charged to
  the library that ran them ("[outside own code] telegram.ext" is PTB's machinery, say);
- modules, self: the module of the innermost frame (where the CPU actually burns);
- packages, inclusive: share of samples with the top-level package anywhere on the stack.

Usage: scripts/profile_summary.py PROFILE.txt [--top 15]
(The same file opens in https://www.speedscope.app or Brendan Gregg's flamegraph.pl.)
"""

from __future__ import annotations

import argparse
import re
import sys
import sysconfig
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWN_DIRS = ("bot", "storage", "flows")
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()
# Innermost frames that are a thread waiting, not working (py-spy's idle detection misses
# some, e.g. a pool worker woken for the GIL): (function, file ending).
IDLE_LEAVES = {
    ("_worker", "concurrent/futures/thread.py"),
    ("Condition.wait", "threading.py"),
}
# Innermost frames that are a database driver blocked on its server (the C code releases the
# GIL and waits on the socket; py-spy counts that as active): reported on their own line.
DB_WAIT_LEAVES = {("Connection.wait", "psycopg/connection.py")}
# Entry frames present in every sample: left out of the inclusive package list.
ENTRY_PACKAGES = {"scripts", "runpy", "threading", "asyncio"}


@dataclass(frozen=True)
class Frame:
    func: str
    file: str
    line: int | None

    @property
    def own(self) -> str | None:
        """Path relative to the project when the frame is project code, else None."""
        try:
            rel = Path(self.file).resolve().relative_to(ROOT)
        except ValueError:
            # py-spy shortens paths unless --full-filenames; accept project-relative names too.
            rel = Path(self.file)
            if rel.is_absolute():
                return None
        if rel.parts and rel.parts[0] in OWN_DIRS:
            return str(rel)
        return None

    @property
    def module(self) -> str:
        """Dotted module, at most two levels deep: sqlalchemy.orm, telegram._bot, asyncio."""
        own = self.own
        if own is not None:
            return own.removesuffix(".py").replace("/", ".")
        path = self.file
        if path.startswith("<"):
            if "sqlalchemy" in path:  # <sqlalchemy generated _go() wrapper for …>
                return "sqlalchemy.generated"
            return path.strip("<>").removeprefix("frozen ")  # <frozen importlib._bootstrap>
        parts = Path(path).parts
        if "site-packages" in parts:
            parts = parts[parts.index("site-packages") + 1 :]
        else:
            try:
                parts = Path(path).resolve().relative_to(STDLIB).parts
            except ValueError:
                parts = parts[-2:]
        names = [p.removesuffix(".py") for p in parts]
        if len(names) > 1 and names[-1] == "__init__":
            names = names[:-1]
        return ".".join(names[:2]) if names else path

    @property
    def package(self) -> str:
        return self.module.split(".")[0]

    @property
    def idle(self) -> bool:
        return any(self.func == f and self.file.endswith(end) for f, end in IDLE_LEAVES)

    @property
    def db_wait(self) -> bool:
        return any(self.func == f and self.file.endswith(end) for f, end in DB_WAIT_LEAVES)

    def label(self) -> str:
        where = self.own or self.module
        return f"{self.func} ({where}:{self.line})" if self.line else f"{self.func} ({where})"


def parse_frame(text: str) -> Frame:
    match = FRAME.match(text)
    if match is None:
        return Frame(text, "?", None)
    line = match.group("line")
    return Frame(match.group("func"), match.group("file"), int(line) if line else None)


def read_collapsed(path: Path) -> list[tuple[list[Frame], int]]:
    stacks = []
    for raw in path.read_text().splitlines():
        stack, _, count = raw.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stacks.append(([parse_frame(f) for f in stack.split(";")], int(count)))
    return stacks


@dataclass
class Summary:
    total: int
    idle: int
    db_wait_loop: int  # samples blocked on the database in the event-loop thread
    db_wait_threads: int  # … in worker threads
    own_functions: Counter[str]
    own: Counter[str]
    modules: Counter[str]
    packages: Counter[str]
    own_inclusive: Counter[str]

    def render(self, top: int = 15) -> str:
        if not self.total:
            return "no busy samples (was the process idle, or did py-spy fail?)"

        def table(title: str, counts: Counter[str]) -> list[str]:
            lines = [title]
            for name, count in counts.most_common(top):
                lines.append(f"  {count / self.total:6.1%}  {name}")
            return lines

        out = [
            f"{self.total} busy samples"
            + (f" ({self.idle} more left out: idle waits)" if self.idle else "")
        ]
        if self.db_wait_loop or self.db_wait_threads:
            out.append(
                f"Of these, blocked on the database server (psycopg waiting, little CPU):"
                f" {self.db_wait_loop / self.total:.1%} in the event-loop thread (the whole bot"
                f" waits), {self.db_wait_threads / self.total:.1%} in worker threads"
            )
        out += table(
            f"Top {top} own functions, each with the libraries it calls (innermost own frame):",
            self.own_functions,
        )
        out += table(f"Top {top} own lines, the same by call site:", self.own)
        out += table(
            f"Top {top} own functions, inclusive (anywhere on the stack):", self.own_inclusive
        )
        out += table(f"Top {top} modules, self (where the CPU burns):", self.modules)
        out.append(
            "Packages, inclusive (besides asyncio): "
            + ", ".join(f"{n} {c / self.total:.0%}" for n, c in self.packages.most_common(top))
        )
        return "\n".join(out)


def summarise(stacks: list[tuple[list[Frame], int]]) -> Summary:
    own: Counter[str] = Counter()
    own_functions: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    own_inclusive: Counter[str] = Counter()
    total = idle = wait_loop = wait_threads = 0
    for frames, count in stacks:
        if frames[-1].idle:
            idle += count
            continue
        total += count
        if frames[-1].db_wait:
            if any(f.func == "_worker" and "concurrent" in f.file for f in frames):
                wait_threads += count
            else:
                wait_loop += count
        modules[frames[-1].module] += count
        innermost = next((f for f in reversed(frames) if f.own), None)
        if innermost is not None:
            own[innermost.label()] += count
            own_functions[f"{innermost.func} ({innermost.own})"] += count
        else:
            # Whose machinery: the first library frame below the event loop's own frames.
            entry = next((f for f in frames if f.package not in ENTRY_PACKAGES), frames[-1])
            outside = f"[outside own code] {entry.module} … {frames[-1].module}"
            own[outside] += count
            own_functions[outside] += count
        for name in {f"{f.func} ({f.own})" for f in frames if f.own}:
            own_inclusive[name] += count
        for name in {f.package for f in frames} - ENTRY_PACKAGES:
            packages[name] += count
    return Summary(
        total, idle, wait_loop, wait_threads, own_functions, own, modules, packages, own_inclusive
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    print(summarise(read_collapsed(args.profile)).render(args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
