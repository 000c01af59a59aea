"""The project's discovery agent on real Galera and etcd: membership follows the nodes."""

from __future__ import annotations

import signal
import time

import pytest

from hostlab.lab import HostLab

pytestmark = pytest.mark.hostlab


def members(lab: HostLab) -> list[str]:
    return lab.discovery_members(lab.host("database-0"))


def test_a_crashed_node_drops_out_within_its_lease_ttl(healthy_lab: HostLab) -> None:
    lab = healthy_lab
    node = lab.host("database-2")
    ttl = int(lab.database_env(node)["LEASE_TTL"])
    # A crash: neither the agent nor the server get to withdraw anything.
    lab.stop(node, "paasmas-db-discovery", sig=signal.SIGKILL)
    lab.stop(node, "paasmas-pxc", sig=signal.SIGKILL)
    crashed = time.monotonic()
    assert node.address in members(lab)  # still there: only the lease can remove it
    gone = lab.wait(lambda: node.address not in members(lab), ttl + 10, "the key to lapse")
    elapsed = time.monotonic() - crashed
    print(f"key of a crashed node gone after {elapsed:.1f}s (lease TTL {ttl}s)")
    # Within the TTL of the last renewal; the slack is etcd's expiry sweep (0.5 s) and the time
    # one poll of ours takes on two busy cores.
    assert gone <= ttl + 2, f"key lapsed after {elapsed:.1f}s, lease TTL is {ttl}s"


def test_a_node_that_stops_withdraws_at_once(healthy_lab: HostLab) -> None:
    lab = healthy_lab
    node = lab.host("database-1")
    interval = int(lab.database_env(node)["REGISTER_INTERVAL"])
    lab.stop_database(node)  # the agent keeps running and sees the node not Synced
    gone = lab.wait(lambda: node.address not in members(lab), 30, "the key withdrawn")
    print(f"key of a stopped node gone {gone:.1f}s after the stop")
    assert gone <= interval + 2
    assert "withdrew" in lab.log_file(node, "paasmas-db-discovery").read_text()


def test_a_restarted_node_rejoins_from_the_live_member_list(healthy_lab: HostLab) -> None:
    lab = healthy_lab
    node = lab.host("database-2")
    lab.stop_database(node)
    lab.wait(lambda: node.address not in members(lab), 30, "the key withdrawn")
    live = sorted(members(lab))
    assert live == ["10.213.0.40", "10.213.0.41"]
    lab.start_database(node)
    # The agent's decision (paasmas-pxc.service's ExecStartPre): join the live members.
    join = lab.environment(node, "/run/paasmas/pxc-cluster.env")["CLUSTER_JOIN"]
    assert join == ",".join(live)
    log = lab.log_file(node, "paasmas-db-discovery-write-env").read_text()
    assert f"joining live members from etcd: {','.join(live)}" in log.splitlines()[-1]
    lab.wait(lambda: lab.wsrep_status(node) == "Synced Primary", 90, "Synced again")
    lab.wait(lambda: node.address in members(lab), 30, "registered again")
    # The member that donated the state transfer was Donor/Desynced meanwhile (its key withdrawn
    # while it was): it is back once Synced again.
    everyone = ["10.213.0.40", "10.213.0.41", "10.213.0.42"]
    lab.wait(lambda: sorted(members(lab)) == everyone, 30, "every member registered")


def test_the_haproxy_backend_list_follows_membership(healthy_lab: HostLab) -> None:
    lab = healthy_lab
    node, lb = lab.host("database-1"), lab.host("db-lb-0")
    everyone = ["db-10-213-0-40", "db-10-213-0-41", "db-10-213-0-42"]
    assert sorted(lab.haproxy_states(lb)) == everyone
    lab.stop_database(node)
    left = lab.wait(lambda: sorted(lab.haproxy_states(lb)) == [everyone[0], everyone[2]], 60,
                    "HAProxy (reloaded) without the stopped node")
    print(f"HAProxy dropped the stopped node after {left:.1f}s")
    lab.start_database(node)
    back = lab.wait(lambda: sorted(lab.haproxy_states(lb)) == everyone, 120,
                    "HAProxy with the node again")
    print(f"HAProxy had the node back {back:.1f}s after its restart")
    lab.wait(lambda: set(lab.haproxy_states(lb).values()) == {"UP"}, 30, "every backend UP")
