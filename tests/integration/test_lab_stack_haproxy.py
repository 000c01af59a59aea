"""The platform in haproxy mode on the local cloud: Neutron reserves the database address with a
port of its own, lets both HAProxy nodes' ports answer for it, and `database_host` is that
address; destroy leaves nothing of it. (Who holds the address is proven in the host lab.)"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest
from lab_cloud import project_residue, unique_name
from lab_stack import Stack, lab_stack_config, new_stack

from components.planning import database_vip_address

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning"),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = lab_stack_config()
    config["paasmas:database"]["load_balancer"] = {
        "mode": "haproxy", "size": 2, "flavor": "paasmas.small"}
    stack = new_stack(tmp_path_factory.mktemp("lab-haproxy"), unique_name("stack"), config)
    try:
        stack.must("up", "--yes", "--skip-preview")
        yield stack
    finally:
        if stack.resource_count():
            stack.destroy()


def test_the_database_address_is_reserved_and_both_haproxy_nodes_may_answer_for_it(
    cloud: Any, stack: Stack
) -> None:
    outputs = stack.outputs()
    vip = database_vip_address(ipaddress.IPv4Network("10.20.0.0/24"))
    assert outputs["database_host"] == vip
    ports = {p.name: p for p in cloud.network.ports(network_id=outputs["network_id"])}
    reserved = ports[f"paasmas-{stack.name}-database-vip"]
    assert [ip["ip_address"] for ip in reserved.fixed_ips] == [vip]
    assert not reserved.device_id  # attached to nothing: only reserved
    haproxy = [p for name, p in ports.items() if "-db-lb-" in name]
    assert len(haproxy) == 2 == len(outputs["node_ips"]["db-lb"])
    for port in haproxy:
        assert [pair["ip_address"] for pair in port.allowed_address_pairs] == [vip], port.name
        assert port.device_id, port.name  # a server's port
    others = [p for name, p in ports.items() if "-db-lb-" not in name and p.device_owner == ""]
    assert all(not p.allowed_address_pairs for p in others)
    # No Octavia load balancer for the database in this mode: only the PaaS entry point.
    lbs = [lb for lb in cloud.load_balancer.load_balancers()
           if (lb.name or "").startswith(f"paasmas-{stack.name}-")]
    assert [lb.name for lb in lbs] == [f"paasmas-{stack.name}-paas"]


def test_destroy_leaves_nothing_of_the_haproxy_stack(cloud: Any, stack: Stack) -> None:
    ids = stack.cloud_ids()
    stack.destroy()
    left = [r for r in project_residue(cloud)
            if f"paasmas-{stack.name}-" in r or any(i in r for i in ids)]
    assert not left, f"left behind by pulumi destroy: {left}"
