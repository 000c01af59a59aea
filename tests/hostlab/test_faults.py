"""Each injected fault is caught by the checks, with a message naming the host, what was
expected and what was found. Faults are real: a stopped server, a removed etcd key, a cut link.
"""

from __future__ import annotations

import os
import signal

import pytest

from components.roles import Role
from components.userdata import DISCOVERY_INTERVAL, VIP_LEASE_TTL
from hostlab.lab import HostLab
from tests.hostlab.conftest import run_checks

pytestmark = pytest.mark.hostlab

CHECKS = "checks/"


def test_a_stopped_galera_node_is_caught(healthy_lab: HostLab) -> None:
    lab = healthy_lab
    stopped = lab.host("database-1")
    lab.stop_database(stopped)
    # The agent withdraws the key, the HAProxy agent follows: wait for the settled state.
    lab.wait(lambda: stopped.address not in lab.haproxy_servers(lab.host("db-lb-0")), 60,
             "HAProxy without the stopped node")
    run = run_checks(lab)
    assert run.returncode == 1
    size = run.failed(f"{CHECKS}test_database.py::test_galera_cluster_size[database-0]")
    assert "database-0 (10.213.0.40): wsrep_cluster_size expected 3 (database size), found 2" \
        in size
    state = run.failed(f"{CHECKS}test_database.py::test_galera_node_synced_and_primary"
                       "[database-1]")
    assert "database-1 (10.213.0.41)" in state and "Can't connect" in state
    check = run.failed(f"{CHECKS}test_database.py::test_clustercheck_answers_200[database-1]")
    assert "clustercheck on 9200 expected 200, found 503" in check
    key = run.failed(f"{CHECKS}test_database.py::test_discovery_key_present[database-1]")
    assert "discovery key in etcd expected for 10.213.0.41" in key
    backends = run.failed(f"{CHECKS}test_db_lb.py::test_every_database_node_is_a_backend_and_up"
                          "[db-lb-0]")
    assert "expected ['10.213.0.40', '10.213.0.41', '10.213.0.42'], found ['10.213.0.40', " \
        "'10.213.0.42']" in backends


def test_a_removed_discovery_key_is_caught(healthy_lab: HostLab) -> None:
    """The fault: a node's key gone while its agent is dead (killed, so it withdrew nothing);
    a live agent writes its key back within one interval (next test)."""
    lab = healthy_lab
    node = lab.host("database-2")
    lab.stop(node, "paasmas-db-discovery", sig=signal.SIGKILL)
    lab.delete_discovery_key(node)
    lab.wait(lambda: node.address not in lab.haproxy_servers(lab.host("db-lb-0")), 60,
             "HAProxy without the node whose key was removed")
    run = run_checks(lab)
    assert run.returncode == 1
    key = run.failed(f"{CHECKS}test_database.py::test_discovery_key_present[database-2]")
    assert ("database-2 (10.213.0.42): discovery key in etcd expected for 10.213.0.42, found "
            "live members ['10.213.0.40', '10.213.0.41']") in key
    assert f"{CHECKS}test_db_lb.py::test_every_database_node_is_a_backend_and_up[db-lb-0]" \
        in run.failures
    # Galera itself is fine: only discovery and the load balancer are wrong.
    assert not any("test_galera" in test for test in run.failures), run.failures


def test_a_live_agent_writes_a_removed_key_back(healthy_lab: HostLab) -> None:
    lab = healthy_lab
    node = lab.host("database-1")
    lab.delete_discovery_key(node)
    took = lab.wait(lambda: node.address in lab.discovery_members(lab.host("database-0")),
                    3 * DISCOVERY_INTERVAL, "the removed key written back by the live agent")
    assert took <= 3 * DISCOVERY_INTERVAL
    lab.stop(node, "paasmas-db-discovery")


def test_a_stopped_etcd_member_is_caught(healthy_lab: HostLab) -> None:
    lab = healthy_lab
    member = lab.host("paas-1")
    lab.stop(member, "etcd-member")
    run = run_checks(lab)
    assert run.returncode == 1
    health = run.failed(f"{CHECKS}test_paas.py::test_etcd_member_healthy[paas-1]")
    assert "paas-1 (10.213.0.21)" in health and "Failed to connect" in health
    cluster = run.failed(f"{CHECKS}test_paas.py::test_etcd_one_leader_and_every_member")
    assert "etcd members expected answering, found silent: {'paas-1 (10.213.0.21)'" in cluster
    ports = run.failed(f"{CHECKS}test_every_host.py::test_role_services_listen[paas-1]")
    assert "missing [2379, 2380]" in ports
    # The other members keep quorum: their own checks pass.
    assert not any("[paas-0]" in test or "[paas-2]" in test for test in run.failures)


def test_an_haproxy_backend_down_is_caught(healthy_lab: HostLab) -> None:
    lab = healthy_lab
    node, lb = lab.host("database-2"), lab.host("db-lb-0")
    # Galera stays Synced and registered; only its health endpoint goes away.
    lab.stop(node, "paasmas-clustercheck")
    lab.wait(lambda: lab.haproxy_states(lb).get("db-10-213-0-42") == "DOWN", 60,
             "HAProxy marking database-2 DOWN")
    run = run_checks(lab)
    assert run.returncode == 1
    backends = run.failed(f"{CHECKS}test_db_lb.py::test_every_database_node_is_a_backend_and_up"
                          "[db-lb-0]")
    assert "db-lb-0 (10.213.0.50): every backend expected UP, found {'10.213.0.42': 'DOWN'}" \
        in backends
    check = run.failed(f"{CHECKS}test_database.py::test_clustercheck_answers_200[database-2]")
    assert "expected 200, found 000" in check or "found no answer" in check


def test_a_cut_link_is_caught(healthy_lab: HostLab) -> None:
    lab = healthy_lab
    cut, lb = lab.host("database-2"), lab.host("db-lb-0")
    lab.cut_link(cut)
    # The isolated node cannot renew its lease: its key lapses, HAProxy follows.
    lab.wait(lambda: cut.address not in lab.haproxy_servers(lb), 60,
             "the cut node's key lapsed and HAProxy followed")
    run = run_checks(lab)
    assert run.returncode == 1
    unreachable = run.failed(f"{CHECKS}test_every_host.py::test_sshd_offers_public_keys_only"
                             "[database-2]")
    assert "database-2 (10.213.0.42): SSH through the bastion expected to connect" in unreachable
    # One timeout for the dead host, not one per check: its other checks fail at once.
    again = [test for test in run.failures
             if "[database-2]" in test and "not retried in this run" in run.failed(test)]
    assert again, run.failures
    size = run.failed(f"{CHECKS}test_database.py::test_galera_cluster_size[database-0]")
    assert "wsrep_cluster_size expected 3 (database size), found 2" in size
    assert f"{CHECKS}test_db_lb.py::test_every_database_node_is_a_backend_and_up[db-lb-0]" \
        in run.failures
    # The majority side stays Primary and serves clients through the load balancer.
    for survivor in ("database-0", "database-1"):
        assert (f"{CHECKS}test_database.py::test_galera_node_synced_and_primary[{survivor}]"
                not in run.failures)
        assert (f"{CHECKS}test_database.py::test_application_login_through_the_load_balancer"
                f"[{survivor}]" not in run.failures)


def test_a_stop_never_signals_a_process_outside_the_host(healthy_lab: HostLab) -> None:
    """Stops go by recorded PID, checked to live in the host's namespace: a recorded PID that
    belongs to another process (here: this test's own) is never signalled."""
    lab = healthy_lab
    host = lab.host("paas-0")
    lab.pid_file(host, "stale-record").write_text(f"{os.getpid()}\n")
    assert not lab.running(host, "stale-record")
    lab.stop(host, "stale-record", sig=signal.SIGKILL)  # would end this test if sent
    assert not lab.pid_file(host, "stale-record").exists()
    etcd_of_paas_0 = lab.pid(host, "etcd-member")
    assert etcd_of_paas_0 is not None and not lab._pid_in_host(lab.host("paas-1"),
                                                                etcd_of_paas_0)


def test_a_stopped_haproxy_node_hands_the_database_address_over(healthy_lab: HostLab) -> None:
    lab = healthy_lab
    (holder_key,) = lab.vip_holders()
    other = next(h for h in lab.hosts(Role.DB_LB) if h.key != holder_key)
    lab.stop(lab.host(holder_key), "paasmas-haproxy")
    took = lab.wait(lambda: lab.vip_holders() == [other.key], 30,
                    "the other HAProxy node holding the database address")
    # The holder gives the address up as soon as its HAProxy stops answering: no lease lapse.
    assert took < VIP_LEASE_TTL, took
    run = run_checks(lab)
    assert run.returncode == 1
    health = run.failed(f"{CHECKS}test_db_lb.py::test_health_endpoint[{holder_key}]")
    assert f"{holder_key} (" in health and "HAProxy /healthz expected 200" in health
    # Clients of the database address are served by the node that holds it now.
    for database in ("database-0", "database-1", "database-2"):
        assert (f"{CHECKS}test_database.py::test_application_login_through_the_load_balancer"
                f"[{database}]" not in run.failures), run.output[-3000:]
    for lb in (holder_key, other.key):
        assert (f"{CHECKS}test_db_lb.py::test_database_address_is_on_the_elected_node_only"
                f"[{lb}]" not in run.failures), run.output[-3000:]
