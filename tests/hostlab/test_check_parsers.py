"""The pure parts of the host checks: outputs, SSH routing, and the parsers of what hosts
print (including what a real stack prints that the host lab cannot: k3s nodes)."""

from __future__ import annotations

import json
import subprocess
import sys
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

REPO = Path(__file__).resolve().parents[2]

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


FIX = "pass the output of `pulumi stack output --json --show-secrets`"


def with_outputs(**changes: object) -> dict[str, object]:
    return {**OUTPUTS, **changes}


def with_paas(*addresses: object) -> dict[str, object]:
    return with_outputs(node_ips={"bastion": ["10.0.0.10"], "paas": ["10.0.0.20", *addresses]})


# Outputs documents that must not reach the SSH configuration: what each one is told.
BAD_OUTPUTS = [
    pytest.param({}, "stack outputs lack node_ips, ssh_user", id="empty-object"),
    pytest.param([], "stack outputs: expected a JSON object of output names, found a list",
                 id="list"),
    pytest.param(None, "stack outputs: expected a JSON object of output names, found null",
                 id="null"),
    pytest.param(with_paas("10.0.0.21\nHost *\n    ProxyCommand touch /tmp/x"),
                 r"node_ips.paas[1]: '10.0.0.21\nHost *\n    ProxyCommand touch /tmp/x' is "
                 "not an IPv4 address", id="newline-in-address"),
    pytest.param(with_paas("-oProxyCommand=touch /tmp/x"),
                 "node_ips.paas[1]: '-oProxyCommand=touch /tmp/x' is not an IPv4 address",
                 id="option-as-address"),
    pytest.param(with_paas("x; rm -rf /"),
                 "node_ips.paas[1]: 'x; rm -rf /' is not an IPv4 address", id="shell-in-address"),
    pytest.param(with_paas("fd00::20"), "node_ips.paas[1]: 'fd00::20' is not an IPv4 address",
                 id="ipv6-node-address"),
    pytest.param(with_paas(" 10.0.0.21"), "node_ips.paas[1]: ' 10.0.0.21' is not an IPv4 address",
                 id="space-before-address"),
    pytest.param(with_paas(167772181), "node_ips.paas[1]: expected an IPv4 address string, "
                 "found a number", id="number-as-address"),
    pytest.param(with_outputs(node_ips={"paas": "10.0.0.20"}),
                 "node_ips.paas: expected a list of IPv4 addresses, found a string",
                 id="role-not-a-list"),
    pytest.param(with_outputs(node_ips={"paas": None}),
                 "node_ips.paas: expected a list of IPv4 addresses, found null", id="role-null"),
    pytest.param(with_outputs(node_ips=["10.0.0.20"]),
                 "node_ips: expected an object of role -> addresses, found a list",
                 id="node-ips-a-list"),
    pytest.param(with_outputs(ssh_user="core admin"),
                 "ssh_user: 'core admin' is not a POSIX user name", id="user-with-space"),
    pytest.param(with_outputs(ssh_user="-oProxyCommand=touch"),
                 "ssh_user: '-oProxyCommand=touch' is not a POSIX user name", id="user-option"),
    pytest.param(with_outputs(ssh_user="core\n    ProxyCommand touch /tmp/x"),
                 r"ssh_user: 'core\n    ProxyCommand touch /tmp/x' is not a POSIX user name",
                 id="user-newline"),
    pytest.param(with_outputs(ssh_user=""), "ssh_user: '' is not a POSIX user name",
                 id="user-empty"),
    pytest.param(with_outputs(ssh_user=1000),
                 "ssh_user: expected a user name string, found a number", id="user-number"),
    pytest.param(with_outputs(bastion_address="1.2.3.4 -oProxyCommand=touch /tmp/x"),
                 "bastion_address: '1.2.3.4 -oProxyCommand=touch /tmp/x' is not an IP address",
                 id="bastion-with-option"),
    pytest.param(with_outputs(bastion_address=""), "bastion_address: '' is not an IP address",
                 id="bastion-empty"),
    pytest.param(with_outputs(bastion_address=["203.0.113.7"]),
                 "bastion_address: expected an IP address string or null, found a list",
                 id="bastion-list"),
]


@pytest.mark.parametrize(("document", "message"), BAD_OUTPUTS)
def test_bad_outputs_are_refused_before_an_ssh_configuration_exists(
        document: object, message: str, tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError) as refused:
        Inventory.from_file(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert message in str(refused.value)
    assert str(refused.value).endswith(f" — {FIX}")
    assert "\n" not in str(refused.value)  # one line, whatever the document holds
    assert list(tmp_path.iterdir()) == [path]  # no SSH configuration written


def test_every_problem_is_reported_at_once() -> None:
    document = {"node_ips": {"paas": ["10.0.0.20", "10.0.0.300"], "web": []},
                "ssh_user": "Core", "bastion_address": "bastion.example"}
    with pytest.raises(ValueError) as refused:
        Inventory.from_outputs(document)
    assert str(refused.value) == (
        "node_ips: unknown roles ['web'] (the roles are bastion, paas, jenkins, database, db-lb); "
        "node_ips.paas[1]: '10.0.0.300' is not an IPv4 address; "
        "ssh_user: 'Core' is not a POSIX user name (^[a-z_][a-z0-9_-]{0,31}$); "
        f"bastion_address: 'bastion.example' is not an IP address — {FIX}")


@pytest.mark.parametrize(("text", "message"), [
    pytest.param('{"node_ips": {"paas": ["10.0.0.20"]}, "ssh_user": "co',
                 "not JSON (Unterminated string starting at: line 1 column 51)", id="truncated"),
    pytest.param("", "not JSON (Expecting value: line 1 column 1)", id="empty-file"),
    pytest.param("node_ips: {}", "not JSON (Expecting value: line 1 column 1)", id="yaml"),
])
def test_an_outputs_file_that_is_not_json_is_named(text: str, message: str,
                                                   tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(text)
    with pytest.raises(ValueError) as refused:
        Inventory.from_file(path)
    assert str(refused.value) == f"{path}: {message} — {FIX}"


def test_a_missing_outputs_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"missing\.json: cannot be read \(No such file"):
        Inventory.from_file(tmp_path / "missing.json")


def test_the_host_checks_stop_with_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    """`pytest checks` on a bad outputs file: pytest's usage error (exit 4), one line, before
    any SSH configuration exists or any check runs."""
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(with_outputs(bastion_address="1.2.3.4 -oProxyCommand=touch x")))
    run = subprocess.run([sys.executable, "-m", "pytest", "checks", "--outputs", str(path),
                          "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "base")],
                         cwd=REPO, capture_output=True, text=True, check=False, timeout=120)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert (f"ERROR: {path}: bastion_address: '1.2.3.4 -oProxyCommand=touch x' is not an IP "
            f"address — {FIX}") in run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert not (tmp_path / "base").exists()  # no session: no ssh_config was written


def test_ipv6_bastion_and_empty_roles_are_fine(tmp_path: Path) -> None:
    platform = Inventory.from_outputs(with_outputs(bastion_address="2001:db8::7",
                                                   node_ips={"paas": ["10.0.0.20"], "db-lb": []}))
    text = ssh_config(platform, Path("/k/id"), Path("/k/known"), tmp_path / "c")
    assert "HostName 2001:db8::7" in text and "Host 10.0.0.20\n" in text


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
