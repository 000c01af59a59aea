"""The host lab for the hostlab tests: brought up when it is not (root, Debian packages from
`make hosts-packages`), every fault undone after each test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hostlab.lab import HostLab

REPO = Path(__file__).resolve().parents[2]
# Everything the lab cannot run (k3s, Drycc, Jenkins) is deselected, as `make check-hostlab` does.
LAB_SELECTION = ("-m", "not k3s and not jenkins")


@dataclass(frozen=True)
class CheckRun:
    returncode: int
    output: str
    seconds: float

    @property
    def failures(self) -> dict[str, str]:
        """`FAILED <test id> - <message>` summary lines: test id -> message."""
        found = {}
        for line in self.output.splitlines():
            match = re.match(r"(?:FAILED|ERROR) (\S+)(?: - (.*))?$", line)
            if match:
                found[match.group(1)] = match.group(2) or ""
        return found

    def failed(self, test_id: str) -> str:
        """The message of a failed check; fails the test when that check passed."""
        failures = self.failures
        assert test_id in failures, (f"expected {test_id} to fail; failures: "
                                     f"{sorted(failures)}\n{self.output[-3000:]}")
        return failures[test_id]


@pytest.fixture(scope="session")
def lab() -> HostLab:
    lab = HostLab()
    if not lab.is_up():
        lab.up()
    return lab


@pytest.fixture
def healthy_lab(lab: HostLab) -> Iterator[HostLab]:
    """The lab, healthy at the start of the test and again after it (faults undone)."""
    lab.restore()
    yield lab
    lab.restore()


def run_checks(lab: HostLab, *extra: str) -> CheckRun:
    """One run of the operator's checks against the lab, as `make check-hostlab` runs them
    (serially here: the summary is the same and two busy cores finish sooner)."""
    import time

    started = time.monotonic()
    command = [sys.executable, "-m", "pytest", "checks", "--outputs", str(lab.outputs_file),
               "--ssh-identity", str(lab.ssh_key), "--known-hosts", str(lab.known_hosts),
               *LAB_SELECTION, "-p", "no:xdist", "-rfEs", "--tb=line", "-q", *extra]
    # A wide "terminal": the summary lines carry whole messages.
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600,
                          check=False, env={**os.environ, "COLUMNS": "1000"})
    return CheckRun(done.returncode, done.stdout + done.stderr, time.monotonic() - started)
