"""Pure planning: names, fixed addresses, etcd membership. No Pulumi here, so it is fast to test.

Fixed-address layout of a subnet the stack creates (a /24 or larger), from each role's own
block in the registry (components/roles.py):

    .1            router (gateway)
    .10 - .19     bastion        each role owns a fixed block, written in the registry (never
    .20 - .29     paas           derived from the order of roles), so growing or adding one role
    .30 - .39     jenkins        never moves another role's nodes
    .40 - .49     database
    .50 - .59     db-lb          (.59: the database VIP in haproxy mode)
    .100 - last   DHCP pool: load-balancer VIPs, router ports, anything Neutron allocates
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.roles import POOL_START_OFFSET, ROLES, AddressBlock, Role, port


def resource_prefix(project: str, stack: str) -> str:
    """Prefix of every name the cloud shows, so several stacks share one project."""
    return f"{project}-{stack}"


def node_name(prefix: str, role: Role | str, index: int) -> str:
    return f"{prefix}-{role}-{index}"


def fixed_addresses(cidr: ipaddress.IPv4Network, role: Role | str,
                    size: int) -> tuple[str, ...]:
    """The fixed IPs of a role's nodes: stable for a given index whatever the other roles do."""
    return block_addresses(cidr, ROLES[Role(role)].addresses, size, str(role))


def block_addresses(cidr: ipaddress.IPv4Network, block: AddressBlock, size: int,
                    label: str) -> tuple[str, ...]:
    """The first `size` addresses of a role's block: a function of that block alone."""
    if size > block.size:
        raise ValueError(f"{label}: {size} nodes do not fit a block of {block.size}")
    if cidr.prefixlen > 24:
        raise ValueError(f"{cidr} is smaller than a /24")
    return tuple(str(cidr.network_address + block.first_offset + i) for i in range(size))


def database_vip_address(cidr: ipaddress.IPv4Network) -> str:
    """The database address the HAProxy nodes hand between them: the last address of their
    block (the config allows fewer nodes than the block holds, so no node ever gets it)."""
    block = ROLES[Role.DB_LB].addresses
    return fixed_addresses(cidr, Role.DB_LB, block.size)[-1]


def gateway_address(cidr: ipaddress.IPv4Network) -> str:
    return str(cidr.network_address + 1)


def allocation_pool(cidr: ipaddress.IPv4Network) -> tuple[str, str]:
    """Neutron's dynamic range: everything after the fixed blocks, up to the last host."""
    return (str(cidr.network_address + POOL_START_OFFSET), str(cidr.broadcast_address - 1))


@dataclass(frozen=True)
class EtcdMember:
    name: str
    address: str

    @property
    def peer_url(self) -> str:
        return f"https://{self.address}:{port(Role.PAAS, 'etcd-peer')}"

    @property
    def client_url(self) -> str:
        return f"https://{self.address}:{port(Role.PAAS, 'etcd-client')}"


def etcd_members(names: Sequence[str], addresses: Sequence[str]) -> tuple[EtcdMember, ...]:
    if len(names) != len(addresses):
        raise ValueError("one address per etcd member")
    if len(set(names)) != len(names) or len(set(addresses)) != len(addresses):
        raise ValueError("etcd member names and addresses must be unique")
    return tuple(EtcdMember(n, a) for n, a in zip(names, addresses, strict=True))


def etcd_initial_cluster(members: Sequence[EtcdMember]) -> str:
    """etcd's static bootstrap list: `name=https://ip:2380,...`."""
    return ",".join(f"{m.name}={m.peer_url}" for m in members)


def etcd_client_endpoints(members: Sequence[EtcdMember]) -> str:
    return ",".join(m.client_url for m in members)


def availability_zone(zones: Sequence[str], index: int) -> str | None:
    """Round robin over the configured zones; None lets the cloud choose."""
    return zones[index % len(zones)] if zones else None


def platform_domain(configured: str | None, lb_address: str) -> str:
    """The wildcard domain apps live under: configured, or an sslip.io name of the PaaS LB."""
    return configured if configured else f"{lb_address}.sslip.io"


def platform_dns_records(domain: str) -> dict[str, str]:
    """The A records that make the platform domain resolve, by a stable key: the domain itself
    and the wildcard every app, the controller and the builder live under."""
    absolute = f"{domain.rstrip('.')}."
    return {"apex": absolute, "wildcard": f"*.{absolute}"}


def paas_controller_url(domain: str) -> str:
    """Drycc's controller answers on `drycc.<platform domain>`."""
    return f"http://drycc.{domain}"


def paas_builder_remote(domain: str) -> str:
    """The builder's git remote: the shared gateway's TCP listener on 2222."""
    return f"ssh://git@drycc-builder.{domain}:2222"


def identity_endpoint(catalog: Sequence[Mapping[str, Any]], region: str) -> str:
    """Keystone's public URL from a token's service catalog (what in-cluster clients use)."""
    for service in catalog:
        if service.get("type") != "identity":
            continue
        endpoints = [e for e in service.get("endpoints") or () if e.get("interface") == "public"]
        in_region = [e for e in endpoints if e.get("region") in (region, "", None)]
        for endpoint in in_region or endpoints:
            url = str(endpoint["url"]).rstrip("/")
            return url if url.endswith("/v3") else f"{url}/v3"
    raise ValueError("the service catalog has no public identity endpoint")
