"""Load the local cloud the way `pulumi up` of the whole platform does, and time it.

As user `paasmas` (cloud `paasmas-lab`), with 10 requests in flight like Pulumi's default
parallelism: a network (MTU 1450) with router and gateway, 8 security groups x 7 rules, four server
groups (two hard, two soft anti-affinity), 12 `paasmas.medium` servers on their own ports each
with an attached 2 GB volume, three load balancers (TCP listener, pool, three members, HTTP health
monitor) and floating IPs on a VIP and two ports; then everything is deleted again (servers side
by side), also when a step fails. Prints the time of each phase. Run with the venv's Python:
`make lab-bench`.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import openstack

PARALLEL = 10
SERVERS = 12
POLICIES = ("anti-affinity", "anti-affinity", "soft-anti-affinity", "soft-anti-affinity")
RULE_PORTS = (22, 80, 443, 2379, 2380, 3306, 4567)
CIDR = "10.77.0.0/24"
PREFIX = "lab-bench-"


class Phases:
    def __init__(self) -> None:
        self.t0 = self.last = time.monotonic()

    def done(self, what: str) -> None:
        now = time.monotonic()
        print(f"[{now - self.t0:6.1f}s] (+{now - self.last:5.1f}s) {what}", flush=True)
        self.last = now


def run(conn: Any, cleanup: ExitStack, phases: Phases) -> None:
    image = conn.image.find_image("flatcar-stable")
    flavor = conn.compute.find_flavor("paasmas.medium")
    public = conn.network.find_network("public")
    net = conn.network.create_network(name=f"{PREFIX}net", mtu=1450)
    cleanup.callback(conn.network.delete_network, net)
    subnet = conn.network.create_subnet(
        name=f"{PREFIX}subnet", network_id=net.id, cidr=CIDR, ip_version=4
    )
    cleanup.callback(conn.network.delete_subnet, subnet)
    router = conn.network.create_router(
        name=f"{PREFIX}router", external_gateway_info={"network_id": public.id}
    )
    cleanup.callback(conn.network.delete_router, router)
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    cleanup.callback(conn.network.remove_interface_from_router, router, subnet_id=subnet.id)
    groups = []
    for i in range(8):
        group = conn.network.create_security_group(name=f"{PREFIX}sg-{i}")
        cleanup.callback(conn.network.delete_security_group, group)
        groups.append(group)
        for port in RULE_PORTS:
            conn.network.create_security_group_rule(
                security_group_id=group.id,
                direction="ingress",
                ethertype="IPv4",
                protocol="tcp",
                port_range_min=port,
                port_range_max=port,
                remote_ip_prefix=CIDR,
            )
    server_groups = []
    for i, policy in enumerate(POLICIES):
        server_group = conn.compute.create_server_group(name=f"{PREFIX}group-{i}", policy=policy)
        cleanup.callback(conn.compute.delete_server_group, server_group)
        server_groups.append(server_group)
    phases.done("network, router, 8 security groups x 7 rules, 4 server groups")

    # Each server's own clean-up; all of them run side by side, as `pulumi destroy` would.
    per_server: list[ExitStack] = []
    cleanup.callback(close_in_parallel, per_server)

    def boot(i: int) -> tuple[Any, Any]:
        own = ExitStack()
        per_server.append(own)
        port = conn.network.create_port(
            name=f"{PREFIX}port-{i}", network_id=net.id, security_group_ids=[groups[i % 8].id]
        )
        own.callback(conn.network.delete_port, port)
        server = conn.compute.create_server(
            name=f"{PREFIX}server-{i}",
            flavor_id=flavor.id,
            image_id=image.id,
            networks=[{"port": port.id}],
            scheduler_hints={"group": server_groups[i % len(POLICIES)].id},
        )
        own.callback(conn.compute.wait_for_delete, server, wait=180)
        own.callback(conn.compute.delete_server, server)
        server = conn.compute.wait_for_server(server, wait=300, failures=["ERROR"])
        volume = conn.block_storage.create_volume(name=f"{PREFIX}volume-{i}", size=2)
        own.callback(conn.block_storage.wait_for_delete, volume, wait=120)
        own.callback(conn.block_storage.delete_volume, volume)
        conn.block_storage.wait_for_status(volume, "available", failures=["error"], wait=120)
        conn.compute.create_volume_attachment(server, volume_id=volume.id)
        own.callback(
            conn.block_storage.wait_for_status, volume, "available", failures=["error"], wait=120
        )
        own.callback(conn.compute.delete_volume_attachment, server, volume.id)
        conn.block_storage.wait_for_status(volume, "in-use", failures=["error"], wait=120)
        return server, port

    with ThreadPoolExecutor(PARALLEL) as pool:
        booted = list(pool.map(boot, range(SERVERS)))
    hosts = [
        len({s.host_id for j, (s, _) in enumerate(booted) if j % len(POLICIES) == k})
        for k in range(len(POLICIES))
    ]
    phases.done(f"{SERVERS} servers ACTIVE with attached volumes; hosts per group {hosts}")

    def lb_active(lb_id: str) -> Any:
        return conn.load_balancer.wait_for_load_balancer(lb_id, wait=300, interval=1)

    def load_balancer(i: int) -> Any:
        # Load balancers are torn down one after another (registered on the main stack).
        lbs = conn.load_balancer
        lb = lbs.create_load_balancer(name=f"{PREFIX}lb-{i}", vip_subnet_id=subnet.id)
        cleanup.callback(wait_gone, lambda: lbs.find_load_balancer(lb.id))
        cleanup.callback(lbs.delete_load_balancer, lb.id, cascade=True)
        lb_active(lb.id)
        listener = lbs.create_listener(protocol="TCP", protocol_port=3306, load_balancer_id=lb.id)
        lb_active(lb.id)
        pool = lbs.create_pool(protocol="TCP", lb_algorithm="ROUND_ROBIN", listener_id=listener.id)
        lb_active(lb.id)
        for _, port in booted[:3]:
            address = port.fixed_ips[0]["ip_address"]
            lbs.create_member(pool, address=address, protocol_port=3306, subnet_id=subnet.id)
            lb_active(lb.id)
        lbs.create_health_monitor(
            pool_id=pool.id, type="HTTP", delay=5, timeout=3, max_retries=3, url_path="/"
        )
        return lb_active(lb.id)

    with ThreadPoolExecutor(3) as pool:
        balancers = list(pool.map(load_balancer, range(3)))
    targets = [balancers[0].vip_port_id, booted[0][1].id, booted[1][1].id]
    for port_id in targets:
        ip = conn.network.create_ip(floating_network_id=public.id, port_id=port_id)
        cleanup.callback(conn.network.delete_ip, ip)
    phases.done("3 load balancers (listener, pool, 3 members, monitor) ACTIVE; 3 floating IPs")


def close_in_parallel(stacks: list[ExitStack]) -> None:
    with ThreadPoolExecutor(PARALLEL) as pool:
        for future in [pool.submit(stack.close) for stack in stacks]:
            future.result()


def wait_gone(find: Callable[[], Any], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while find() is not None and time.monotonic() < deadline:
        time.sleep(1)


def main() -> int:
    # openstacksdk's pending deprecations concern its own internals.
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    conn = openstack.connect(cloud="paasmas-lab")
    phases = Phases()
    try:
        with ExitStack() as cleanup:
            run(conn, cleanup, phases)
            phases.done("up: the platform's shape is in place")
        phases.done("down: everything deleted")
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
