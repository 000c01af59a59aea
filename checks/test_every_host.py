"""Every host: sshd keys-only, clock in sync, disk and memory headroom, the role's services."""

from __future__ import annotations

import paramiko  # type: ignore[import-untyped]
import pytest
import testinfra.host

from checks.conftest import SshAccess
from checks.inventory import (
    COMMON_UNITS,
    DATA_VOLUME_ROLES,
    ROLE_PORTS,
    ROLE_UNITS,
    SSHD_KEYS_ONLY,
    Node,
    df_use_percent,
    listening_ports,
    meminfo_available_fraction,
    sshd_effective,
    sshd_mismatches,
)
from checks.remote import remote_clock, run
from components.userdata import DATA_MOUNT

ROLE = None  # every host


def test_sshd_offers_public_keys_only(node: Node, ssh: SshAccess) -> None:
    try:
        offered = ssh.offered_auth_methods(node)
    except (OSError, paramiko.SSHException) as error:
        pytest.fail(f"{node}: SSH through the bastion expected to connect, found "
                    f"{type(error).__name__}: {error}", pytrace=False)
    assert offered == ["publickey"], (
        f"{node}: sshd offers authentication methods expected ['publickey'], found {offered}")


def test_sshd_effective_settings_are_keys_only(node: Node,
                                               host: testinfra.host.Host) -> None:
    effective = sshd_effective(run(host, node, "sudo -n sshd -T"))
    problems = sshd_mismatches(effective, SSHD_KEYS_ONLY)
    assert not problems, f"{node}: sshd -T: " + "; ".join(problems)


def test_clock_matches_this_machine(node: Node, host: testinfra.host.Host,
                                    pytestconfig: pytest.Config) -> None:
    limit = float(pytestconfig.getoption("--max-clock-offset"))
    before, remote, after = remote_clock(host)
    # The host's stamp was taken between `before` and `after`: outside that window is offset.
    offset = max(before - remote, remote - after, 0.0)
    assert offset <= limit, (f"{node}: clock offset from this machine expected <= {limit}s, "
                             f"found {offset:.2f}s")


def test_time_synchronised_by_ntp(node: Node, host: testinfra.host.Host) -> None:
    if host.run("test -d /run/systemd/system").rc != 0:
        pytest.skip(reason=f"{node}: PID 1 is not systemd, NTP state is systemd-timesyncd's")
    state = run(host, node, "timedatectl show --property=NTPSynchronized --value").strip()
    assert state == "yes", f"{node}: NTPSynchronized expected yes, found {state!r}"


def test_disk_headroom(node: Node, host: testinfra.host.Host,
                       pytestconfig: pytest.Config) -> None:
    limit = int(pytestconfig.getoption("--max-disk-use"))
    mounts = f"/ {DATA_MOUNT}" if node.role in DATA_VOLUME_ROLES else "/"
    use = df_use_percent(run(host, node, f"df -P {mounts}"))
    full = {m: u for m, u in use.items() if u > limit}
    assert use and not full, f"{node}: disk use expected <= {limit}%, found {full or use}"


def test_memory_headroom(node: Node, host: testinfra.host.Host,
                         pytestconfig: pytest.Config) -> None:
    minimum = float(pytestconfig.getoption("--min-memory-available"))
    available = meminfo_available_fraction(run(host, node, "cat /proc/meminfo"))
    assert available >= minimum, (f"{node}: available memory expected >= {minimum:.0%}, "
                                  f"found {available:.1%}")


def test_role_units_active(node: Node, host: testinfra.host.Host) -> None:
    if host.run("test -d /run/systemd/system").rc != 0:
        pytest.skip(reason=f"{node}: PID 1 is not systemd, there are no unit states to read")
    inactive = {}
    for unit in COMMON_UNITS + ROLE_UNITS[node.role]:
        state = host.run(f"systemctl is-active {unit}").stdout.strip()
        if state != "active":
            inactive[unit] = state
    assert not inactive, f"{node}: units expected active, found {inactive}"


def test_role_services_listen(node: Node, host: testinfra.host.Host) -> None:
    ports = listening_ports(run(host, node, "ss -Hltn"))
    missing = sorted(set(ROLE_PORTS[node.role]) - ports)
    assert not missing, (f"{node}: TCP ports expected listening {list(ROLE_PORTS[node.role])}, "
                         f"missing {missing}")
