"""Planning is pure: addresses, names and etcd membership, with property-based checks."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.planning import (
    allocation_pool,
    availability_zone,
    etcd_client_endpoints,
    etcd_initial_cluster,
    etcd_members,
    fixed_addresses,
    gateway_address,
    node_name,
    platform_domain,
)
from components.roles import Role

pytestmark = pytest.mark.unit

ROLE_ORDER = tuple(Role)
BLOCK = 10  # every role's block in the registry (tests/unit/test_roles.py pins the plan)

private_networks = st.builds(
    lambda a, b, prefix: ipaddress.IPv4Network(f"10.{a}.{b}.0/{prefix}", strict=False),
    st.integers(0, 255), st.integers(0, 255), st.integers(16, 24))
sizes = st.dictionaries(st.sampled_from(ROLE_ORDER), st.integers(0, BLOCK))


@given(private_networks, sizes)
def test_fixed_addresses_are_unique_inside_the_subnet_and_outside_the_pool(
        cidr: ipaddress.IPv4Network, role_sizes: dict[str, int]) -> None:
    pool_start, pool_end = (ipaddress.IPv4Address(a) for a in allocation_pool(cidr))
    gateway = ipaddress.IPv4Address(gateway_address(cidr))
    seen: set[ipaddress.IPv4Address] = set()
    for role, size in role_sizes.items():
        for text in fixed_addresses(cidr, role, size):
            address = ipaddress.IPv4Address(text)
            assert address in cidr
            assert address != gateway
            assert not pool_start <= address <= pool_end
            assert address not in seen
            seen.add(address)
    assert pool_start < pool_end
    assert pool_end < cidr.broadcast_address


@given(private_networks, st.sampled_from(ROLE_ORDER), st.integers(1, BLOCK - 1))
def test_growing_a_role_keeps_existing_addresses(cidr: ipaddress.IPv4Network, role: str,
                                                  size: int) -> None:
    before = fixed_addresses(cidr, role, size)
    after = fixed_addresses(cidr, role, size + 1)
    assert after[:size] == before


def test_address_layout_of_a_24() -> None:
    cidr = ipaddress.IPv4Network("10.20.0.0/24")
    assert fixed_addresses(cidr, "paas", 3) == ("10.20.0.20", "10.20.0.21", "10.20.0.22")
    assert fixed_addresses(cidr, "database", 3) == ("10.20.0.40", "10.20.0.41", "10.20.0.42")
    assert allocation_pool(cidr) == ("10.20.0.100", "10.20.0.254")
    assert gateway_address(cidr) == "10.20.0.1"


@pytest.mark.parametrize(("role", "size", "cidr"), [
    ("paas", BLOCK + 1, "10.0.0.0/24"), ("nope", 1, "10.0.0.0/24"), ("paas", 3, "10.0.0.0/25")])
def test_fixed_addresses_rejects_impossible_plans(role: str, size: int, cidr: str) -> None:
    with pytest.raises(ValueError):
        fixed_addresses(ipaddress.IPv4Network(cidr), role, size)


def test_etcd_initial_cluster_and_endpoints() -> None:
    members = etcd_members(["p-paas-0", "p-paas-1", "p-paas-2"],
                           ["10.0.0.20", "10.0.0.21", "10.0.0.22"])
    assert etcd_initial_cluster(members) == (
        "p-paas-0=https://10.0.0.20:2380,p-paas-1=https://10.0.0.21:2380,"
        "p-paas-2=https://10.0.0.22:2380")
    assert etcd_client_endpoints(members) == (
        "https://10.0.0.20:2379,https://10.0.0.21:2379,https://10.0.0.22:2379")


@given(st.lists(st.ip_addresses(v=4).map(str), min_size=1, max_size=9, unique=True))
def test_initial_cluster_names_every_member_once(addresses: list[str]) -> None:
    names = [node_name("p", "paas", i) for i in range(len(addresses))]
    text = etcd_initial_cluster(etcd_members(names, addresses))
    entries = text.split(",")
    assert [e.split("=")[0] for e in entries] == names
    assert [e.split("=")[1] for e in entries] == [f"https://{a}:2380" for a in addresses]


def test_etcd_members_reject_duplicates_and_mismatches() -> None:
    with pytest.raises(ValueError):
        etcd_members(["a", "a"], ["10.0.0.1", "10.0.0.2"])
    with pytest.raises(ValueError):
        etcd_members(["a"], ["10.0.0.1", "10.0.0.2"])


@given(st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4), st.integers(0, 50))
def test_zones_round_robin(zones: list[str], index: int) -> None:
    assert availability_zone(zones, index) == zones[index % len(zones)]
    assert availability_zone([], index) is None


def test_platform_domain() -> None:
    assert platform_domain(None, "203.0.113.9") == "203.0.113.9.sslip.io"
    assert platform_domain("paas.example.com", "203.0.113.9") == "paas.example.com"
