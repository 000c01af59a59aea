"""Database load balancers (HAProxy mode): every database node is a backend, every backend up,
and the database address (VIP) on the node elected through etcd, and on no other."""

from __future__ import annotations

import pytest
import testinfra.host

from checks.inventory import Inventory, Node, haproxy_server_address, haproxy_servers
from checks.remote import run, sourced
from components import outputs
from components.roles import Role, port

ROLE = Role.DB_LB.value
BACKEND = "galera"


def test_health_endpoint(node: Node, host: testinfra.host.Host) -> None:
    code = host.run("curl -s -o /dev/null -w '%{http_code}' --max-time 5 "
                    f"http://127.0.0.1:{port(Role.DB_LB, 'health')}/healthz").stdout.strip()
    assert code == "200", f"{node}: HAProxy /healthz expected 200, found {code or 'no answer'}"


def test_every_database_node_is_a_backend_and_up(node: Node, host: testinfra.host.Host,
                                                 platform: Inventory,
                                                 pytestconfig: pytest.Config) -> None:
    url = pytestconfig.getoption("--haproxy-stats-url")
    servers = haproxy_servers(run(host, node, f"curl -sS --fail --max-time 5 '{url}'"), BACKEND)
    found = sorted(haproxy_server_address(name) for name in servers)
    expected = sorted(n.address for n in platform.nodes("database"))
    assert found == expected, (f"{node}: backends of {BACKEND} expected {expected}, "
                               f"found {found}")
    down = {haproxy_server_address(n): s for n, s in servers.items() if not s.startswith("UP")}
    assert not down, f"{node}: every backend expected UP, found {down}"


def test_database_address_is_on_the_elected_node_only(node: Node, host: testinfra.host.Host,
                                                      platform: Inventory) -> None:
    vip = platform.get(outputs.DATABASE_HOST)
    owner = run(host, node, sourced("/etc/paasmas/db-lb.env",
                                    "/opt/paasmas/bin/paasmas-vip-agent owner")).strip()
    assert owner, f"{node}: a holder of the database address {vip} expected in etcd, found none"
    here = f" inet {vip}/" in run(host, node, "ip -o -4 addr show")
    expected = owner == node.address
    assert here == expected, (
        f"{node}: database address {vip} expected {'here' if expected else f'on {owner}'}, "
        f"found it {'here' if here else 'absent'}")
