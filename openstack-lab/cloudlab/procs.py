"""Start and stop the lab's processes through pid files; never by name.

A pid file holds the pid and the process's start time (from /proc), so a pid that the kernel has
since given to another process is never taken for ours.
"""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    pid: int
    start_time: int


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    return raw[raw.rindex(")") + 2 :].split()


def start_time_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    # fields[0] is field 3 (state); start time is field 22.
    return int(fields[19]) if fields else None


def is_alive(proc: Proc) -> bool:
    fields = _stat_fields(proc.pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return int(fields[19]) == proc.start_time


def read_pidfile(path: Path) -> Proc | None:
    try:
        pid, start = path.read_text().split()
        return Proc(int(pid), int(start))
    except (OSError, ValueError):
        return None


def running(path: Path) -> Proc | None:
    """The process recorded in the pid file, if it is still that process and alive."""
    proc = read_pidfile(path)
    return proc if proc is not None and is_alive(proc) else None


LOG_KEEP_BYTES = 32 * 1024 * 1024


def rotate(log: Path, keep_bytes: int = LOG_KEEP_BYTES) -> None:
    """Move a log that has grown past keep_bytes to <log>.1 (one old generation is kept)."""
    if log.exists() and log.stat().st_size > keep_bytes:
        log.replace(log.with_name(log.name + ".1"))


def spawn(
    argv: Sequence[str], env: Mapping[str, str], log: Path, pidfile: Path, cwd: Path
) -> tuple[Proc, subprocess.Popen[bytes]]:
    """Start argv in its own session (its own process group), output appended to log."""
    rotate(log)
    with log.open("ab") as out:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        out.write(f"\n===== {stamp} starting: {' '.join(argv)}\n".encode())
        out.flush()
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    start = start_time_of(popen.pid)
    proc = Proc(popen.pid, start if start is not None else -1)
    pidfile.write_text(f"{proc.pid} {proc.start_time}\n")
    return proc, popen


def _signal(proc: Proc, sig: int) -> None:
    try:
        # Each lab process leads its own group: the signal reaches its workers too.
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
    except ProcessLookupError:
        pass


def group_members(leader: Proc) -> list[int]:
    """Live processes of the leader's process group that started no earlier than the leader."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        # fields[2] is field 5 (process group); fields[19] is field 22 (start time).
        if (
            fields is not None
            and fields[0] not in ("Z", "X")
            and int(fields[2]) == leader.pid
            and int(fields[19]) >= leader.start_time
        ):
            members.append(int(entry.name))
    return members


def _kill_quietly(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def stop_all(
    pidfiles: Sequence[Path], grace_s: float = 20.0, signals: Mapping[Path, int] | None = None
) -> dict[Path, str]:
    """Stop the processes of these pid files together: SIGTERM (or the signal `signals` names
    for a pid file), then SIGKILL after grace_s.

    Returns what happened to each (stopped, killed, not running).
    """
    result: dict[Path, str] = {}
    live: dict[Path, Proc] = {}
    signalled: dict[Path, Proc] = {}
    for path in pidfiles:
        proc = read_pidfile(path)
        if proc is None:
            result[path] = "not running"
        elif not is_alive(proc):
            path.unlink(missing_ok=True)
            result[path] = "not running (stale pid file removed)"
        else:
            _signal(proc, (signals or {}).get(path, signal.SIGTERM))
            live[path] = signalled[path] = proc
    deadline = time.monotonic() + grace_s
    while live and time.monotonic() < deadline:
        for path, proc in list(live.items()):
            if not is_alive(proc):
                path.unlink(missing_ok=True)
                result[path] = f"stopped (pid {proc.pid})"
                del live[path]
        time.sleep(0.2)
    for path, proc in live.items():
        _signal(proc, signal.SIGKILL)
        path.unlink(missing_ok=True)
        result[path] = f"killed after {grace_s:.0f} s (pid {proc.pid})"
    # Workers that outlived their leader (same process group, started after it).
    for proc in signalled.values():
        for member in group_members(proc):
            _kill_quietly(member, signal.SIGKILL)
    return result


def rss_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB of a process and its descendants in the same process group."""
    rss = pss = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pid:
                continue
            for line in (entry / "smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except (OSError, ProcessLookupError):
            continue
    return rss, pss
