"""The role registry: the address plan is pinned per role and never depends on the order of
roles, ports are defined once, and every consumer (security rules, load balancers, checks,
policy, config) reads the registry's facts."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from checks.inventory import DATA_VOLUME_ROLES, ROLE_PORTS
from checks.inventory import ROLES as CHECKED_ROLES
from components.config import ConfigError, load
from components.loadbalancer import listener_specs
from components.planning import block_addresses, database_vip_address, fixed_addresses
from components.roles import (
    DATABASE_LOAD_BALANCER,
    FLOWS,
    PAAS_LOAD_BALANCER,
    ROLES,
    AddressBlock,
    Port,
    Role,
    RoleSpec,
    group_ports,
    port,
    registry_problems,
)
from components.security import conditions, plan_security_rules, source_cidrs
from policy import rules as policy
from tests.unit.harness import stack_values

pytestmark = pytest.mark.unit

CIDR = ipaddress.IPv4Network("10.20.0.0/24")

# The address plan of every stack that creates its subnet. A change here moves (replaces) every
# node of a role on every existing stack: it must be deliberate.
PINNED_FIRST_ADDRESS = {
    Role.BASTION: "10.20.0.10",
    Role.PAAS: "10.20.0.20",
    Role.JENKINS: "10.20.0.30",
    Role.DATABASE: "10.20.0.40",
    Role.DB_LB: "10.20.0.50",
}


def test_every_role_has_its_pinned_block() -> None:
    assert set(PINNED_FIRST_ADDRESS) == set(ROLES)
    for role, first in PINNED_FIRST_ADDRESS.items():
        assert fixed_addresses(CIDR, role, 1) == (first,)
    assert database_vip_address(CIDR) == "10.20.0.59"


def _all_addresses(specs: list[RoleSpec]) -> dict[str, tuple[str, ...]]:
    return {str(s.role): block_addresses(CIDR, s.addresses, s.addresses.size - 1, str(s.role))
            for s in specs}


@pytest.mark.parametrize("position", [0, 2, len(ROLES)])
def test_adding_a_role_anywhere_leaves_every_existing_address_unchanged(position: int) -> None:
    """A throwaway role inserted first, in the middle or last: the registry stays valid and no
    existing role's address moves (blocks are written down, not derived from the order)."""
    specs = list(ROLES.values())
    taken = {o for s in specs for o in range(s.addresses.first_offset,
                                             s.addresses.last_offset + 1)}
    free = next(o for o in range(10, 100, 10) if not taken & set(range(o, o + 10)))
    extra = dataclasses.replace(specs[0], role=Role.BASTION, addresses=AddressBlock(free, 10))
    before = _all_addresses(specs)
    extended = specs[:position] + [extra] + specs[position:]
    # The extra spec reuses an enum member, so only the block checks apply to it.
    problems = [p for p in registry_problems(extended) if "registered twice" not in p]
    assert problems == []
    after = _all_addresses([s for s in extended if s is not extra])
    assert after == before


def test_registry_problems_name_overlapping_and_out_of_range_blocks() -> None:
    specs = list(ROLES.values())
    overlapping = dataclasses.replace(specs[1], addresses=AddressBlock(15, 10))
    outside = dataclasses.replace(specs[2], addresses=AddressBlock(95, 10))
    deaf = dataclasses.replace(specs[3], listening=("nope",))
    problems = registry_problems([specs[0], overlapping, outside, deaf, specs[4], specs[4]])
    assert problems == [
        "paas: .15 is also in bastion's block",
        "jenkins: block .95-.104 is outside .10-.99",
        "database: listening purpose 'nope' has no port",
        "db-lb: registered twice",
        "db-lb: .50 is also in db-lb's block",
    ]
    assert registry_problems(ROLES.values()) == []


def test_ports_are_defined_once_and_load_balancers_map_client_to_member_ports() -> None:
    """The listener's port and its members' port are separate facts: the PaaS entry point
    forwards 80/443/2222 to the gateway's node ports; the database one forwards its own mysql
    port to the database nodes' and checks their clustercheck port."""
    paas = {s.name: (s.port, s.member_port, s.health.kind) for s in
            listener_specs(PAAS_LOAD_BALANCER)}
    assert paas == {"http": (80, 30080, "TCP"), "https": (443, 30443, "TCP"),
                    "builder": (2222, 32222, "TCP")}
    (mysql,) = listener_specs(DATABASE_LOAD_BALANCER)
    assert (mysql.port, mysql.member_port) == (port(Role.DB_LB, "mysql"),
                                               port(Role.DATABASE, "mysql"))
    assert (mysql.health.kind, mysql.health.port) == ("HTTP", port(Role.DATABASE,
                                                                   "clustercheck"))


def test_moving_a_member_port_moves_the_pool_not_the_listener(
        monkeypatch: pytest.MonkeyPatch) -> None:
    database = ROLES[Role.DATABASE]
    moved = dataclasses.replace(database, ports={**database.ports, "mysql": Port(3307)})
    registry = dict(ROLES)
    registry[Role.DATABASE] = moved
    monkeypatch.setattr("components.roles.ROLES", registry)
    (mysql,) = listener_specs(DATABASE_LOAD_BALANCER)
    assert (mysql.port, mysql.member_port) == (3306, 3307)


def test_every_flow_names_ports_its_group_has() -> None:
    for flow in FLOWS:
        ports = group_ports(flow.to)
        missing = [p for p in flow.purposes if p not in ports]
        assert not missing, f"{flow.to}: {flow.why} names ports it does not have: {missing}"


def test_security_rules_follow_the_registry_ports() -> None:
    """Every rule's port is one of its group's registry ports."""
    cfg = load(stack_values("lab"))
    for rule in plan_security_rules(conditions(cfg), source_cidrs(cfg)):
        numbers = {(p.protocol, p.number) for p in group_ports(rule.group).values()}
        assert (rule.protocol, rule.port) in numbers, rule


def test_consumers_read_the_registry() -> None:
    assert tuple(r.value for r in ROLES) == CHECKED_ROLES
    assert ROLE_PORTS["database"] == (22, 3306, 4567, 9200)
    assert ROLE_PORTS["db-lb"] == (22, 3306, 8404, 8405)
    assert {"database", "jenkins"} == DATA_VOLUME_ROLES
    assert set(policy.QUORUM_ROLES) == {"paas", "database"}
    assert {"database"} == policy.PRIVATE_ROLES


@pytest.mark.parametrize(("role", "key"), [(Role.DATABASE, "paasmas:database")])
def test_private_roles_refuse_floating_ips_in_the_loader(role: Role, key: str) -> None:
    values = stack_values("lab")
    section = dict(values[key]) if isinstance(values[key], dict) else {}
    values[key] = {**section, "floating_ips": True}
    with pytest.raises(ConfigError) as raised:
        load(values)
    assert f"{ROLES[role].config_key}.floating_ips: {role} nodes stay private" in str(raised.value)


def test_quorum_roles_get_quorum_rules_in_the_loader() -> None:
    values = stack_values("lab")
    values["paasmas:database"] = {**values["paasmas:database"], "size": 4}
    with pytest.raises(ConfigError, match="database.size: 4 — must be odd"):
        load(values)
