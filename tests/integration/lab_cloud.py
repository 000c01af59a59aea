"""Helpers for tests against the local OpenStack cloud (docs/lab.md): connect, wait, clean up."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openstack
import openstack.connection

CLOUD = "paasmas-lab"
DEFAULT_CLOUDS_YAML = Path("/var/lib/paasmas-lab/clouds.yaml")
PUBLIC_NETWORK = "public"
PUBLIC_CIDR_PREFIX = "172.24.4."
IMAGE = "flatcar-stable"
FLAVORS = ("paasmas.small", "paasmas.medium", "paasmas.large")
COMPUTE_HOSTS = 3


def clouds_yaml() -> Path:
    """The clouds.yaml that `make lab-up` wrote (mk/lab.mk exports OS_CLIENT_CONFIG_FILE)."""
    return Path(os.environ.get("OS_CLIENT_CONFIG_FILE", str(DEFAULT_CLOUDS_YAML)))


def connect() -> openstack.connection.Connection:
    config = openstack.config.OpenStackConfig(config_files=[str(clouds_yaml())])
    return openstack.connection.Connection(config=config.get_one(cloud=CLOUD))


# One prefix per test session: leftovers are counted for this run only.
RUN_PREFIX = f"labtest-{uuid.uuid4().hex[:6]}-"


def unique_name(kind: str) -> str:
    return f"{RUN_PREFIX}{kind}-{uuid.uuid4().hex[:6]}"


def wait_until(what: str, check: Callable[[], bool], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(0.5)


def wait_lb_active(conn: Any, lb_id: str, timeout_s: float = 120.0) -> Any:
    """The load balancer once its provisioning status is ACTIVE (ERROR fails at once)."""
    deadline = time.monotonic() + timeout_s
    while True:
        lb = conn.load_balancer.get_load_balancer(lb_id)
        if lb.provisioning_status == "ACTIVE":
            return lb
        if lb.provisioning_status == "ERROR":
            raise AssertionError(f"load balancer {lb_id} went to ERROR")
        if time.monotonic() > deadline:
            raise AssertionError(
                f"load balancer {lb_id} still {lb.provisioning_status} after {timeout_s:.0f} s"
            )
        time.sleep(0.5)


def leftovers(conn: Any, prefix: str = RUN_PREFIX) -> list[str]:
    """Everything in the project whose name starts with the tests' prefix."""
    found: list[str] = []
    listings: dict[str, Callable[[], Any]] = {
        "server": conn.compute.servers,
        "server group": conn.compute.server_groups,
        "volume": conn.block_storage.volumes,
        "load balancer": conn.load_balancer.load_balancers,
        "router": conn.network.routers,
        "port": conn.network.ports,
        "network": conn.network.networks,
        "security group": conn.network.security_groups,
    }
    for kind, listing in listings.items():
        found += [
            f"{kind} {r.name} ({r.id})" for r in listing() if (r.name or "").startswith(prefix)
        ]
    project_id = conn.current_project_id
    found += [
        f"floating IP {ip.floating_ip_address}"
        for ip in conn.network.ips(project_id=project_id)
        if (ip.description or "").startswith(prefix)
    ]
    return found


def project_residue(conn: Any) -> list[str]:
    """What a `pulumi destroy` must not leave in the project: servers, ports (but a router's
    own), volumes, load balancers, floating IPs, routers, networks, security groups but
    `default`, server groups and key pairs. Each entry names kind, name and id.
    """
    project_id = conn.current_project_id
    router_owners = ("network:router_interface", "network:router_gateway", "network:ha_router")
    found = [f"server {s.name} ({s.id})" for s in conn.compute.servers()]
    found += [f"server group {g.name} ({g.id})" for g in conn.compute.server_groups()]
    found += [f"key pair {k.name}" for k in conn.compute.keypairs()]
    found += [f"volume {v.name} ({v.id})" for v in conn.block_storage.volumes()]
    found += [f"load balancer {lb.name} ({lb.id})" for lb in conn.load_balancer.load_balancers()]
    found += [
        f"floating IP {ip.floating_ip_address} ({ip.id})"
        for ip in conn.network.ips(project_id=project_id)
    ]
    found += [f"router {r.name} ({r.id})" for r in conn.network.routers(project_id=project_id)]
    found += [
        f"port {p.name} ({p.id}, {p.device_owner or 'no owner'} {p.device_id or '-'})"
        for p in conn.network.ports(project_id=project_id)
        if p.device_owner not in router_owners
    ]
    found += [f"network {n.name} ({n.id})" for n in conn.network.networks(project_id=project_id)]
    found += [
        f"security group {g.name} ({g.id})"
        for g in conn.network.security_groups(project_id=project_id)
        if g.name != "default"
    ]
    return found
