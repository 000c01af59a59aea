"""`make roll` touches a node only when its role passes the host checks, and waits until the
role passes them again: proven with the real checks against the host lab (real Galera, etcd,
HAProxy); the Pulumi side of the roll is a recording stand-in here (the roll itself is proven on
the lab stack, tests/integration/test_lab_stack.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hostlab.lab import HostLab
from ops.roll import INSTANCE, HealthChecks, RollRefused, role_health, roll
from tests.hostlab.conftest import LAB_SELECTION, REPO

pytestmark = pytest.mark.hostlab
PATH = {"PATH": os.environ["PATH"]}


def lab_checks(lab: HostLab) -> HealthChecks:
    return HealthChecks(("--outputs", str(lab.outputs_file)),
                        ("--ssh-identity", str(lab.ssh_key), "--known-hosts",
                         str(lab.known_hosts), *LAB_SELECTION, "-p", "no:xdist"))


def recording_pulumi(tmp_path: Path, hostname: str, role: str) -> tuple[Path, Path]:
    """A `pulumi` that knows one server and records every other command it is given."""
    export = {"deployment": {"resources": [{
        "type": INSTANCE, "urn": f"urn:pulumi:hostlab::paasmas::{INSTANCE}::{hostname}",
        "outputs": {"name": hostname, "metadata": {"role": role}}, "protect": True}]}}
    (tmp_path / "export.json").write_text(json.dumps(export))
    calls = tmp_path / "calls"
    script = tmp_path / "pulumi"
    script.write_text(f"""#!/bin/sh
if [ "$1 $2" = "stack export" ]; then cat {tmp_path / "export.json"}; exit 0; fi
echo "$* ROLL=$PAASMAS_ROLL_NODES" >>{calls}
""")
    script.chmod(0o755)
    return script, calls


def test_a_healthy_role_is_rolled_and_waited_for(healthy_lab: HostLab, tmp_path: Path) -> None:
    healthy, report = role_health(lab_checks(healthy_lab), "database", cwd=REPO)
    assert healthy, report
    pulumi, calls = recording_pulumi(tmp_path, "paasmas-hostlab-database-0", "database")
    roll("hostlab", "paasmas-hostlab-database-0", cwd=REPO, env=PATH, pulumi=str(pulumi),
         checks=lab_checks(healthy_lab), healthy_within_s=60, poll_s=1)
    lines = calls.read_text().splitlines()
    assert [line.split()[:2] for line in lines] == [["state", "unprotect"], ["up", "--yes"]]
    assert all(line.endswith("ROLL=paasmas-hostlab-database-0") for line in lines)


def test_a_role_with_a_member_down_is_not_rolled(healthy_lab: HostLab, tmp_path: Path) -> None:
    lab = healthy_lab
    stopped = lab.host("database-1")
    lab.stop_database(stopped)
    lab.wait(lambda: stopped.address not in lab.haproxy_servers(lab.host("db-lb-0")), 60,
             "HAProxy without the stopped node")
    healthy, report = role_health(lab_checks(lab), "database", cwd=REPO)
    assert not healthy
    assert "database-1 (10.213.0.41)" in report
    pulumi, calls = recording_pulumi(tmp_path, "paasmas-hostlab-database-0", "database")
    with pytest.raises(RollRefused, match="database is not healthy, so "
                                          "paasmas-hostlab-database-0 is not rolled"):
        roll("hostlab", "paasmas-hostlab-database-0", cwd=REPO, env=PATH, pulumi=str(pulumi),
             checks=lab_checks(lab))
    assert not calls.exists(), "a roll was started on an unhealthy role"
