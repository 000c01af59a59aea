"""PaaS nodes: the platform etcd (every member healthy, one leader, as many members as PaaS
nodes, client TLS required), k3s nodes Ready, the Drycc controller on the platform domain."""

from __future__ import annotations

import shlex
import urllib.error
import urllib.request

import pytest
import testinfra.host

from checks.conftest import SshAccess
from checks.inventory import (
    Inventory,
    Node,
    etcd_member_peer_urls,
    etcd_status,
    kubernetes_node_names,
    kubernetes_nodes_not_ready,
)
from checks.remote import run
from components import outputs
from components.roles import Role, port

ROLE = Role.PAAS.value
ETCD_CLIENT_PORT = port(Role.PAAS, "etcd-client")
# The member's certificate (cloud-config/paas.yaml.j2): also a client certificate.
ETCD_TLS = ("--cacert /etc/ssl/etcd/ca.pem --cert /etc/ssl/etcd/member.pem "
            "--key /etc/ssl/etcd/member-key.pem")


def etcd_request(address: str, path: str, body: str | None = None, tls: str = ETCD_TLS) -> str:
    data = f" -X POST -H 'Content-Type: application/json' --data {shlex.quote(body)}" \
        if body is not None else ""
    return (f"sudo -n curl -sS --fail --noproxy '*' --max-time 5 {tls}{data} "
            f"https://{address}:{ETCD_CLIENT_PORT}{path}")


def test_etcd_member_healthy(node: Node, host: testinfra.host.Host) -> None:
    answer = run(host, node, etcd_request(node.address, "/health"))
    assert '"health":"true"' in answer.replace(" ", ""), (
        f"{node}: etcd /health expected health true, found {answer.strip()}")


def test_etcd_requires_client_certificates(node: Node, host: testinfra.host.Host) -> None:
    tls_only_ca = "--cacert /etc/ssl/etcd/ca.pem"
    without_cert = host.run(etcd_request(node.address, "/health", tls=tls_only_ca))
    plain_http = host.run(f"curl -sS --noproxy '*' --max-time 5 "
                          f"http://{node.address}:{ETCD_CLIENT_PORT}/health")
    assert without_cert.rc != 0, (f"{node}: etcd without a client certificate expected refused, "
                                  f"found answered: {without_cert.stdout.strip()}")
    assert plain_http.rc != 0 or '"health"' not in plain_http.stdout, (
        f"{node}: etcd over plain HTTP expected refused, found {plain_http.stdout.strip()}")


def test_etcd_one_leader_and_every_member(platform: Inventory, ssh: SshAccess) -> None:
    """One cluster-wide verdict, asked from the first PaaS node that answers over SSH."""
    nodes = platform.nodes(ROLE)
    assert nodes, "no PaaS nodes in the stack outputs"
    asker = nodes[0]
    host = ssh.host(asker)
    statuses, silent = {}, {}
    for member in nodes:
        result = host.run(etcd_request(member.address, "/v3/maintenance/status", "{}"))
        if result.rc == 0:
            statuses[member] = etcd_status(result.stdout)
        else:
            silent[str(member)] = result.stderr.strip()[-200:] or f"exit {result.rc}"
    assert not silent, f"etcd members expected answering, found silent: {silent}"
    member_ids = {s.member_id for s in statuses.values()}
    leaders = {s.leader for s in statuses.values()}
    assert len(leaders) == 1 and leaders <= member_ids, (
        f"etcd leader expected one member all agree on, found leaders {sorted(leaders)} "
        f"among members {sorted(member_ids)}")
    listed = etcd_member_peer_urls(run(host, asker, etcd_request(
        asker.address, "/v3/cluster/member/list", "{}")))
    assert len(listed) == platform.size(ROLE), (
        f"etcd member count expected {platform.size(ROLE)} (PaaS size), found {len(listed)}: "
        f"{sorted(listed)}")
    peers = {url for urls in listed.values() for url in urls}
    peer_port = port(Role.PAAS, "etcd-peer")
    missing = [str(n) for n in nodes if f"https://{n.address}:{peer_port}" not in peers]
    assert not missing, f"etcd members expected for every PaaS node, missing {missing}"


@pytest.mark.k3s
def test_k3s_nodes_ready(platform: Inventory, ssh: SshAccess) -> None:
    asker = platform.nodes(ROLE)[0]
    nodes_json = run(ssh.host(asker), asker, "sudo -n /opt/bin/k3s kubectl get nodes -o json")
    names = kubernetes_node_names(nodes_json)
    assert len(names) == platform.size(ROLE), (
        f"k3s nodes expected {platform.size(ROLE)}, found {len(names)}: {names}")
    not_ready = kubernetes_nodes_not_ready(nodes_json)
    assert not not_ready, f"k3s nodes expected Ready, found not Ready: {not_ready}"


@pytest.mark.k3s
def test_paas_controller_answers_on_the_platform_domain(platform: Inventory) -> None:
    url = str(platform.get(outputs.PAAS_CONTROLLER_URL)).rstrip("/") + "/healthz"
    domain = str(platform.get(outputs.PAAS_DOMAIN))
    assert domain in url, f"controller URL {url} expected under the platform domain {domain}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status, body = response.status, response.read(200).decode(errors="replace")
    except urllib.error.HTTPError as error:
        status, body = error.code, ""
    except OSError as error:
        pytest.fail(f"Drycc controller {url}: expected HTTP 200, found no answer ({error})")
    assert status == 200, f"Drycc controller {url}: expected HTTP 200, found {status} {body}"
