"""Run a command and measure its whole process tree: wall time, peak memory, CPU time.

Memory is sampled every `interval` seconds (50 ms by default) from /proc: the tree is found
through /proc/<pid>/task/*/children, starting at the command's process, and at every sample
the VmRSS of all its live processes is summed; the peak is the largest sum seen. (A page
shared by several processes counts once for each: PSS would not, but reading it from
smaps_rollup costs ~13 ms a sample, which would slow the very processes being measured.) CPU time is
the user + system time each process had used when last seen, summed over every process seen.
Nothing beyond the standard library is needed; Linux only.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    argv: list[str]
    returncode: int
    seconds: float
    peak_rss_mib: float  # largest sum of VmRSS over the live process tree
    cpu_seconds: float  # user + system, summed over every process seen
    processes_seen: int
    peak_processes: int
    samples: int
    stdout: str
    stderr: str

    def summary(self) -> dict[str, object]:
        d = asdict(self)
        del d["stdout"], d["stderr"]
        return d


def _tree(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
            except OSError:
                continue
    return pids


def _field_kib(path: str, name: str) -> int:
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(name):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cpu_ticks(pid: int) -> tuple[str, int] | None:
    """(start time, utime + stime) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses
    # After the name: state is field 3 (index 0 here); utime 14, stime 15, starttime 22.
    return fields[19], int(fields[11]) + int(fields[12])


def run_measured(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    interval: float = 0.05,
) -> Measured:
    """Run `argv` to completion (output captured through temporary files, never a pipe that
    could fill up) while sampling its process tree."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        peak_rss = peak_n = samples = 0
        cpu: dict[tuple[int, str], int] = {}
        ended = threading.Event()
        end = [0.0]

        def wait() -> None:
            proc.wait()
            end[0] = time.perf_counter()
            ended.set()

        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=cwd)
        threading.Thread(target=wait, daemon=True).start()
        while not ended.is_set():
            rss = 0
            pids = _tree(proc.pid)
            for pid in pids:
                rss += _field_kib(f"/proc/{pid}/status", "VmRSS:")
                ticks = _cpu_ticks(pid)
                if ticks is not None:
                    key = (pid, ticks[0])
                    cpu[key] = max(cpu.get(key, 0), ticks[1])
            peak_rss = max(peak_rss, rss)
            peak_n = max(peak_n, len(pids))
            samples += 1
            ended.wait(interval)
        seconds = end[0] - t0
        out.seek(0)
        err.seek(0)
        return Measured(
            argv=[str(a) for a in argv],
            returncode=proc.returncode,
            seconds=seconds,
            peak_rss_mib=peak_rss / 1024,
            cpu_seconds=sum(cpu.values()) / _TICKS,
            processes_seen=len(cpu),
            peak_processes=peak_n,
            samples=samples,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )
