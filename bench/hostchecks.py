"""Time of a full host-check run over the host lab: serial, then parallel across hosts.

    make bench-hostchecks          (brings the lab up first)
    python bench/hostchecks.py [--workers 4] [--rounds 2]

Prints one line per run and the best of each mode. Runs the operator's command
(`pytest checks ...`) exactly as `make check-hostlab` does, so connection set-up through the
bastion is part of the figure.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hostlab.lab import HostLab  # noqa: E402


def one_run(lab: HostLab, parallel: list[str]) -> tuple[float, str]:
    command = [sys.executable, "-m", "pytest", "checks", "--outputs", str(lab.outputs_file),
               "--ssh-identity", str(lab.ssh_key), "--known-hosts", str(lab.known_hosts),
               "-m", "not k3s and not jenkins", "-q", *parallel]
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    summary = re.findall(r"\d+ (?:passed|failed|skipped|error)", done.stdout)
    if done.returncode != 0:
        raise SystemExit(f"the checks failed; is the lab healthy?\n{done.stdout[-3000:]}")
    return elapsed, ", ".join(summary)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    lab = HostLab()
    if not lab.is_up():
        raise SystemExit("the host lab is not up: make hosts-up")
    modes = {"serial": ["-p", "no:xdist"],
             f"parallel -n {args.workers}": ["-n", str(args.workers), "--dist", "loadgroup"]}
    best: dict[str, float] = {}
    for round_number in range(1, args.rounds + 1):
        for mode, extra in modes.items():
            elapsed, summary = one_run(lab, extra)
            best[mode] = min(best.get(mode, elapsed), elapsed)
            print(f"round {round_number}  {mode:14} {elapsed:6.1f}s  ({summary})", flush=True)
    hosts = len(lab.hosts())
    for mode, seconds in best.items():
        print(f"best  {mode:14} {seconds:6.1f}s  over {hosts} hosts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
