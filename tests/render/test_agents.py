"""The node agents' own behaviour, run for real with stand-ins for mysqld and the peers:
clustercheck's HTTP answers and the discovery agent's bootstrap decisions when etcd is down."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from components.userdata import TEMPLATE_DIR

pytestmark = pytest.mark.render

SCRIPTS = TEMPLATE_DIR / "scripts"


def fake_mysql(tmp_path: Path, state: str, cluster: str) -> str:
    """A mysql client stand-in answering the status query like mysqld does (-N -B)."""
    script = tmp_path / "mysql"
    script.write_text("#!/bin/sh\n"
                      f"printf 'wsrep_cluster_status\\t{cluster}\\n"
                      f"wsrep_local_state_comment\\t{state}\\n'\n")
    script.chmod(0o755)
    return str(script)


def clustercheck(tmp_path: Path, mysql_cmd: str) -> str:
    # Bytes, not text: HTTP's CRLFs must reach the assertions untranslated.
    run = subprocess.run([str(SCRIPTS / "paasmas-clustercheck")],
                         input=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", capture_output=True,
                         env={**os.environ, "MYSQL_CMD": mysql_cmd, "STATE_DIR": str(tmp_path)},
                         timeout=30, check=True)
    return run.stdout.decode()


@pytest.mark.parametrize(("state", "cluster", "status"), [
    ("Synced", "Primary", "200 OK"),
    ("Donor/Desynced", "Primary", "503 Service Unavailable"),
    ("Synced", "non-Primary", "503 Service Unavailable"),
    ("Joining", "Primary", "503 Service Unavailable"),
])
def test_clustercheck_answers_200_only_when_synced_and_primary(
        tmp_path: Path, state: str, cluster: str, status: str) -> None:
    response = clustercheck(tmp_path, fake_mysql(tmp_path, state, cluster))
    head, _, body = response.partition("\r\n\r\n")
    assert head.startswith(f"HTTP/1.0 {status}\r\n")
    assert f"Content-Length: {len(body)}" in head


def test_clustercheck_503_when_mysqld_does_not_answer(tmp_path: Path) -> None:
    assert clustercheck(tmp_path, "false").startswith("HTTP/1.0 503 ")


def test_clustercheck_503_when_disabled_for_maintenance(tmp_path: Path) -> None:
    (tmp_path / "clustercheck.disabled").touch()
    response = clustercheck(tmp_path, fake_mysql(tmp_path, "Synced", "Primary"))
    assert response.startswith("HTTP/1.0 503 ")


def cluster_address(tmp_path: Path, *, candidate: bool, grastate: str | None,
                    initialised: bool = False) -> subprocess.CompletedProcess[str]:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    if grastate is not None:
        (data / "grastate.dat").write_text(grastate)
    if initialised:
        (data / "mysql").mkdir(exist_ok=True)
    env = {
        **os.environ,
        # Nothing listens on port 9 here: etcd and the peers' clustercheck are unreachable.
        "ETCD_ENDPOINTS": "http://127.0.0.1:9", "ETCD_CA_FILE": "", "ETCD_CERT_FILE": "",
        "ETCD_TIMEOUT": "2", "DISCOVERY_PREFIX": "/paasmas/t/db/members/",
        "NODE_ADDRESS": "127.0.0.1", "STATIC_PEERS": "127.0.0.1,127.0.0.2,127.0.0.3",
        "PEER_HEALTH_PORT": "9", "BOOTSTRAP_CANDIDATE": "true" if candidate else "false",
        "DATA_DIR": str(data), "STATE_DIR": str(tmp_path / "state"),
    }
    return subprocess.run([str(SCRIPTS / "paasmas-db-discovery"), "cluster-address"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


GRASTATE = "# GALERA saved state\nversion: 2.1\nuuid: 1-2-3\nseqno: 42\nsafe_to_bootstrap: {}\n"


def test_a_fresh_candidate_never_bootstraps_while_etcd_is_down(tmp_path: Path) -> None:
    """Only etcd can say whether the cluster was ever created (test_agents_etcd.py: the first
    node creates it when etcd answers). Blind, an empty data directory waits: it may be a
    wiped database-0 whose cluster lives on."""
    run = cluster_address(tmp_path, candidate=True, grastate=None)
    assert run.returncode == 0 and run.stdout == "127.0.0.2,127.0.0.3\n", run.stderr
    assert "never bootstraps without it" in run.stderr


def test_other_nodes_wait_for_static_peers_on_a_fresh_cluster(tmp_path: Path) -> None:
    run = cluster_address(tmp_path, candidate=False, grastate=None)
    assert run.returncode == 0 and run.stdout == "127.0.0.2,127.0.0.3\n", run.stderr


def test_last_node_to_leave_bootstraps_whoever_it_is(tmp_path: Path) -> None:
    run = cluster_address(tmp_path, candidate=False, grastate=GRASTATE.format(1))
    assert run.stdout == "\n", run.stderr


def test_no_bootstrap_when_galera_says_unsafe(tmp_path: Path) -> None:
    run = cluster_address(tmp_path, candidate=True, grastate=GRASTATE.format(0))
    assert run.stdout == "127.0.0.2,127.0.0.3\n", run.stderr
    assert "not safe to bootstrap" in run.stderr


def test_no_bootstrap_of_an_initialised_datadir_without_grastate(tmp_path: Path) -> None:
    run = cluster_address(tmp_path, candidate=True, grastate=None, initialised=True)
    assert run.stdout == "127.0.0.2,127.0.0.3\n", run.stderr
