"""The pure parts of the host checks: outputs, SSH routing, and the parsers of what hosts
print (including what a real stack prints that the host lab cannot: k3s nodes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.inventory import (
    Inventory,
    connect_name,
    df_use_percent,
    etcd_member_peer_urls,
    etcd_status,
    haproxy_server_address,
    haproxy_servers,
    kubernetes_node_names,
    kubernetes_nodes_not_ready,
    listening_ports,
    meminfo_available_fraction,
    ssh_config,
    sshd_effective,
    sshd_mismatches,
    status_variables,
)

pytestmark = pytest.mark.unit

OUTPUTS = {
    "node_ips": {"bastion": ["10.0.0.10"], "paas": ["10.0.0.20", "10.0.0.21", "10.0.0.22"],
                 "database": ["10.0.0.40", "10.0.0.41", "10.0.0.42"], "jenkins": ["10.0.0.30"]},
    "bastion_address": "203.0.113.7",
    "ssh_user": "core",
    "database_password": "s3cret",
}


def test_nodes_come_from_node_ips_in_role_order() -> None:
    platform = Inventory.from_outputs(OUTPUTS)
    assert [n.name for n in platform.nodes()] == [
        "bastion-0", "paas-0", "paas-1", "paas-2", "jenkins-0", "database-0", "database-1",
        "database-2"]
    assert platform.size("paas") == 3 and platform.size("db-lb") == 0
    assert str(platform.nodes("database")[1]) == "database-1 (10.0.0.41)"


@pytest.mark.parametrize(("document", "message"), [
    ({"ssh_user": "core"}, "stack outputs lack node_ips"),
    ({"node_ips": {"paas": []}}, "stack outputs lack ssh_user"),
    ({"node_ips": {"web": ["1.2.3.4"]}, "ssh_user": "core"}, "unknown roles ['web']"),
])
def test_outputs_that_are_not_stack_outputs_are_refused(document: dict[str, object],
                                                         message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Inventory.from_outputs(document)


def test_ssh_config_sends_every_node_through_the_bastion(tmp_path: Path) -> None:
    platform = Inventory.from_outputs(OUTPUTS)
    config = tmp_path / "ssh_config"
    text = ssh_config(platform, Path("/k/id"), Path("/k/known"), config)
    bastion_block, nodes_block = text.split("\n\n")[:2]
    assert "HostName 203.0.113.7" in bastion_block and "ProxyCommand" not in bastion_block
    assert nodes_block.startswith("Host 10.0.0.20 10.0.0.21 10.0.0.22 10.0.0.30 10.0.0.40")
    assert f"ProxyCommand ssh -F {config} -W %h:%p bastion" in nodes_block
    assert "ProxyJump" not in text  # paramiko ignores it and would connect directly
    assert "StrictHostKeyChecking yes" in text
    assert connect_name(platform, platform.nodes("bastion")[0]) == "bastion"
    assert connect_name(platform, platform.nodes("paas")[0]) == "10.0.0.20"


def test_without_a_bastion_nodes_are_reached_directly(tmp_path: Path) -> None:
    platform = Inventory.from_outputs({**OUTPUTS, "bastion_address": None,
                                      "node_ips": {"paas": ["10.0.0.20"]}})
    text = ssh_config(platform, Path("/k/id"), Path("/k/known"), tmp_path / "c")
    assert "ProxyCommand" not in text and "Host bastion" not in text


def test_sshd_effective_settings_name_each_mismatch() -> None:
    effective = sshd_effective("passwordauthentication yes\npermitrootlogin no\n"
                               "authenticationmethods any\n")
    problems = sshd_mismatches(effective, {"passwordauthentication": "no",
                                           "permitrootlogin": "no",
                                           "authenticationmethods": "publickey",
                                           "permitemptypasswords": "no"})
    assert problems == ["passwordauthentication expected 'no', found 'yes'",
                        "authenticationmethods expected 'publickey', found 'any'",
                        "permitemptypasswords expected 'no', found '<unset>'"]


def test_system_parsers() -> None:
    ss = ("LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\nLISTEN 0 4096 10.0.0.20:2379 0.0.0.0:*\n"
          "LISTEN 0 128 [::]:22 [::]:*\n")
    assert listening_ports(ss) == {22, 2379}
    df = ("Filesystem 1024-blocks Used Available Capacity Mounted on\n"
          "/dev/vda9 100 91 9 91% /\n/dev/vdb 100 10 90 10% /srv/data\n")
    assert df_use_percent(df) == {"/": 91, "/srv/data": 10}
    assert meminfo_available_fraction("MemTotal: 1000 kB\nMemFree: 10 kB\n"
                                      "MemAvailable: 250 kB\n") == 0.25
    assert status_variables("wsrep_cluster_size\t3\nwsrep_ready\tON\n") == {
        "wsrep_cluster_size": "3", "wsrep_ready": "ON"}


def test_haproxy_stats_csv() -> None:
    csv_text = ("# pxname,svname,qcur,status,weight\n"
                "mysql,FRONTEND,,OPEN,\n"
                "galera,db-10-0-0-40,0,UP,1\n"
                "galera,db-10-0-0-41,0,DOWN,1\n"
                "galera,BACKEND,0,UP,1\n"
                "stats,FRONTEND,,OPEN,\n")
    servers = haproxy_servers(csv_text, "galera")
    assert servers == {"db-10-0-0-40": "UP", "db-10-0-0-41": "DOWN"}
    assert haproxy_server_address("db-10-0-0-41") == "10.0.0.41"


def test_etcd_answers() -> None:
    status = etcd_status('{"header":{"cluster_id":"1","member_id":"42","revision":"9"},'
                        '"version":"3.5.17","leader":"42","raftTerm":"2"}')
    assert status.member_id == "42" and status.leader == "42"
    members = etcd_member_peer_urls(json.dumps({"members": [
        {"ID": "1", "name": "paas-0", "peerURLs": ["https://10.0.0.20:2380"]},
        {"ID": "2", "name": "paas-1", "peerURLs": ["https://10.0.0.21:2380"]}]}))
    assert members == {"paas-0": ["https://10.0.0.20:2380"], "paas-1": ["https://10.0.0.21:2380"]}


def test_k3s_nodes_not_ready() -> None:
    """The k3s check's verdict on `kubectl get nodes -o json` (k3s cannot run in the lab)."""
    def node(name: str, ready: str, message: str = "") -> dict[str, object]:
        return {"metadata": {"name": name}, "status": {"conditions": [
            {"type": "MemoryPressure", "status": "False"},
            {"type": "Ready", "status": ready, "message": message}]}}

    nodes = json.dumps({"items": [node("paas-0", "True"),
                                  node("paas-1", "Unknown", "Kubelet stopped posting status"),
                                  {"metadata": {"name": "paas-2"}, "status": {}}]})
    assert kubernetes_node_names(nodes) == ["paas-0", "paas-1", "paas-2"]
    assert kubernetes_nodes_not_ready(nodes) == {
        "paas-1": "Kubelet stopped posting status", "paas-2": "no Ready condition"}
