"""The checks pass on a healthy platform (the host lab), through the bastion."""

from __future__ import annotations

import re

import pytest

from hostlab.lab import HostLab
from tests.hostlab.conftest import run_checks

pytestmark = pytest.mark.hostlab

SYSTEMD_ONLY = ("test_time_synchronised_by_ntp", "test_role_units_active")


def test_every_check_passes_on_the_healthy_lab(healthy_lab: HostLab) -> None:
    run = run_checks(healthy_lab)
    assert run.returncode == 0, f"checks failed on the healthy lab:\n{run.output[-4000:]}"
    passed = int(re.search(r"(\d+) passed", run.output).group(1))  # type: ignore[union-attr]
    hosts = len(healthy_lab.hosts())
    # Per host: 8 common checks (2 of them systemd-only), per role more; cluster-wide etcd.
    assert passed >= 6 * hosts + 10, run.output[-2000:]
    # The only skips: what needs systemd as PID 1, with that reason, for every host.
    skips = re.findall(r"SKIPPED \[\d+\] (\S+): (.*)", run.output)
    assert len(skips) == len(SYSTEMD_ONLY) * hosts, run.output[-3000:]
    assert all("PID 1 is not systemd" in reason for _, reason in skips), skips


def test_the_checks_go_through_the_bastion(healthy_lab: HostLab) -> None:
    """This machine reaches the bastion's external address only: a node's private address
    answers through the bastion's ProxyCommand, never directly."""
    import socket

    node = healthy_lab.hosts()[-1]
    banner = b""
    try:  # this machine's default route may lead somewhere that accepts any connection
        with socket.create_connection((node.address, 22), timeout=3) as direct:
            banner = direct.recv(64)
    except OSError:
        pass
    assert not banner.startswith(b"SSH-"), f"{node.address}:22 reachable directly: {banner!r}"
    run = run_checks(healthy_lab, "-k", f"test_sshd_offers_public_keys_only and {node.key}")
    assert run.returncode == 0 and "1 passed" in run.output, run.output[-2000:]
