"""The one registry of what a role is: its name, its fixed address block, its ports by purpose,
whether it holds a quorum, and which groups may reach which of its ports.

Everything that needs one of these facts reads it here: the address plan (planning.py), the
security rules (security.py), the load balancers' listeners and members (paas.py, database.py),
the user-data templates (`port(role, purpose)`), the config rules (quorum sizes, private roles),
the `node_ips` output, the policy pack, the host checks and the host lab. Pure data, no Pulumi.

Adding a role: docs/roles.md has the checklist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Role(StrEnum):
    """Node roles, by the name every resource, hostname and output uses."""

    BASTION = "bastion"
    PAAS = "paas"
    JENKINS = "jenkins"
    DATABASE = "database"
    DB_LB = "db-lb"


class When(StrEnum):
    """A stack setting a role or a flow depends on."""

    BASTION = "bastion.enabled"
    NO_BASTION = "not bastion.enabled"
    HAPROXY = "database.load_balancer.mode=haproxy"
    OCTAVIA = "database.load_balancer.mode=octavia"


@dataclass(frozen=True)
class Port:
    number: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class AddressBlock:
    """Fixed host offsets in a stack-created subnet. Each role has its own block, written down
    here and never derived from the order of roles: adding a role moves no other role's nodes."""

    first_offset: int
    size: int

    @property
    def last_offset(self) -> int:
        return self.first_offset + self.size - 1


@dataclass(frozen=True)
class RoleSpec:
    role: Role
    config_key: str  # where the stack config sets its nodes (`database.load_balancer` for db-lb)
    addresses: AddressBlock
    ports: Mapping[str, Port]  # by purpose
    # Services the host checks expect listening on every node of the role (purposes of `ports`).
    listening: tuple[str, ...]
    quorum: bool = False  # odd size >= 3, anti-affinity, replaced one node at a time
    # Never a floating IP: reached through the bastion only. (Jenkins may have one, for the git
    # host's webhooks, reachable from jenkins.allowed_cidrs only.)
    private: bool = False
    data_volume: bool = False  # a Cinder volume mounted at DATA_MOUNT
    exists_when: When | None = None  # None: every stack has the role (size permitting)

    def port(self, purpose: str) -> int:
        return self.ports[purpose].number


# Where Neutron's own allocation pool starts: load-balancer VIPs, router ports. The fixed blocks
# all lie below it.
POOL_START_OFFSET = 100
FIRST_FIXED_OFFSET = 10

SSH = Port(22)

ROLES: Mapping[Role, RoleSpec] = MappingProxyType({spec.role: spec for spec in (
    RoleSpec(Role.BASTION, "bastion", AddressBlock(10, 10), {"ssh": SSH},
             listening=("ssh",), exists_when=When.BASTION),
    RoleSpec(Role.PAAS, "paas", AddressBlock(20, 10), {
        "ssh": SSH,
        "etcd-client": Port(2379), "etcd-peer": Port(2380),
        "k3s-api": Port(6443), "kubelet": Port(10250), "flannel": Port(8472, "udp"),
        # Fixed node ports of the shared gateway, the targets of the PaaS load balancer.
        "http": Port(30080), "https": Port(30443), "builder": Port(32222),
    }, listening=("ssh", "etcd-client", "etcd-peer"), quorum=True),
    RoleSpec(Role.JENKINS, "jenkins", AddressBlock(30, 10), {"ssh": SSH, "http": Port(8080)},
             listening=("ssh", "http"), data_volume=True),
    RoleSpec(Role.DATABASE, "database", AddressBlock(40, 10), {
        "ssh": SSH, "mysql": Port(3306), "sst": Port(4444), "galera": Port(4567),
        "ist": Port(4568), "clustercheck": Port(9200),
    }, listening=("ssh", "mysql", "galera", "clustercheck"), quorum=True, private=True,
        data_volume=True),
    # HAProxy nodes in haproxy mode; in octavia mode the role is the Octavia VIP's group only.
    RoleSpec(Role.DB_LB, "database.load_balancer", AddressBlock(50, 10), {
        # HAProxy's own health (monitor-uri) and its backend states on loopback.
        "ssh": SSH, "mysql": Port(3306), "health": Port(8404), "stats": Port(8405),
    }, listening=("ssh", "mysql", "health", "stats"), exists_when=When.HAPROXY),
)})


def registry_problems(specs: Iterable[RoleSpec]) -> list[str]:
    """What would make a registry unusable: overlapping address blocks, a block outside the
    fixed range, a listening purpose without a port, a role twice."""
    problems: list[str] = []
    seen: dict[int, Role] = {}
    roles: set[Role] = set()
    for s in specs:
        if s.role in roles:
            problems.append(f"{s.role}: registered twice")
        roles.add(s.role)
        block = s.addresses
        if block.first_offset < FIRST_FIXED_OFFSET or block.last_offset >= POOL_START_OFFSET:
            problems.append(f"{s.role}: block .{block.first_offset}-.{block.last_offset} is "
                            f"outside .{FIRST_FIXED_OFFSET}-.{POOL_START_OFFSET - 1}")
        for offset in range(block.first_offset, block.last_offset + 1):
            if offset in seen:
                problems.append(f"{s.role}: .{offset} is also in {seen[offset]}'s block")
                break
            seen[offset] = s.role
        problems += [f"{s.role}: listening purpose {p!r} has no port"
                     for p in s.listening if p not in s.ports]
    return problems


def spec(role: Role | str) -> RoleSpec:
    return ROLES[Role(role)]


def port(role: Role | str, purpose: str) -> int:
    """A role's port for one purpose: `port(Role.DATABASE, "clustercheck")` is 9200."""
    return spec(role).port(purpose)


_PROBLEMS = registry_problems(ROLES.values())
if _PROBLEMS:
    raise ValueError("role registry: " + "; ".join(_PROBLEMS))

QUORUM_ROLES = tuple(r for r, s in ROLES.items() if s.quorum)
PRIVATE_ROLES = frozenset(r for r, s in ROLES.items() if s.private)


# ---- load balancers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Forward:
    """A load-balancer listener: clients connect to `port`, members answer on their role's
    `member_purpose` port; the health check asks `health_purpose` over HTTP (None: TCP connect to
    the member port)."""

    name: str
    port: int
    member_purpose: str
    health_purpose: str | None = None


@dataclass(frozen=True)
class LoadBalancerSpec:
    group: str  # the security group on its VIP port
    members: Role
    forwards: tuple[Forward, ...]

    def member_port(self, forward: Forward) -> int:
        return port(self.members, forward.member_purpose)

    def health_port(self, forward: Forward) -> int | None:
        if forward.health_purpose is None:
            return None
        return port(self.members, forward.health_purpose)

    @property
    def ports(self) -> dict[str, Port]:
        return {f.name: Port(f.port) for f in self.forwards}


# The PaaS entry point: HTTP, HTTPS and `git push` to the shared gateway's node ports.
PAAS_LB_GROUP = "paas-lb"
PAAS_LOAD_BALANCER = LoadBalancerSpec(PAAS_LB_GROUP, Role.PAAS, (
    Forward("http", 80, "http"), Forward("https", 443, "https"),
    Forward("builder", 2222, "builder"),
))
# The database entry point (Octavia mode; HAProxy nodes listen on the same db-lb port).
DATABASE_LOAD_BALANCER = LoadBalancerSpec(Role.DB_LB.value, Role.DATABASE, (
    Forward("mysql", port(Role.DB_LB, "mysql"), "mysql", health_purpose="clustercheck"),
))


# ---- who may reach what ---------------------------------------------------------------------


class Source(StrEnum):
    """Sources of traffic that are not one of the platform's groups."""

    OPERATORS = "access.ssh_allowed_cidrs"
    PAAS_CLIENTS = "paas.allowed_cidrs"
    JENKINS_CLIENTS = "jenkins.allowed_cidrs"
    # Octavia reaches members from its own port in the tenant subnet (the amphora's port carries
    # Octavia's group, not ours), so member-side rules for an Octavia LB name the subnet.
    TENANT_SUBNET = "<tenant-subnet>"


@dataclass(frozen=True)
class Flow:
    """Ingress to group `to` on the ports of `purposes`, from each of `sources` (groups or
    `Source`s), when every condition in `when` holds."""

    to: str
    purposes: tuple[str, ...]
    sources: tuple[str, ...]
    why: str
    when: frozenset[When] = field(default_factory=frozenset)


def _flow(to: str, purposes: Iterable[str], sources: Iterable[str], why: str,
          *when: When) -> Flow:
    return Flow(to, tuple(purposes), tuple(sources), why, frozenset(when))


def _ssh(role: Role) -> tuple[Flow, ...]:
    """SSH to a node: from the bastion, or from the operators' networks when there is none."""
    own = (ROLES[role].exists_when,) if ROLES[role].exists_when else ()
    return (_flow(role, ["ssh"], [Role.BASTION], "ssh from the bastion", When.BASTION, *own),
            _flow(role, ["ssh"], [Source.OPERATORS], "ssh from operators (no bastion)",
                  When.NO_BASTION, *own))


P, J, D, L, B = Role.PAAS, Role.JENKINS, Role.DATABASE, Role.DB_LB, Role.BASTION
HAPROXY, OCTAVIA = When.HAPROXY, When.OCTAVIA
PAAS_LB_PORTS = tuple(f.name for f in PAAS_LOAD_BALANCER.forwards)

# Every ingress flow of the platform (egress stays Neutron's default). Rule resource names come
# from (group, protocol, port, source), so reordering this table replaces nothing.
FLOWS: tuple[Flow, ...] = (
    _flow(B, ["ssh"], [Source.OPERATORS], "ssh from operators", When.BASTION),
    *_ssh(P), *_ssh(J), *_ssh(D), *_ssh(L),
    # etcd: peers among members; clients are the PaaS nodes (k3s), database and HAProxy nodes.
    _flow(P, ["etcd-client"], [P, D], "etcd clients"),
    _flow(P, ["etcd-client"], [L], "etcd clients", HAPROXY),
    _flow(P, ["etcd-peer"], [P], "etcd peers"),
    _flow(P, ["k3s-api", "kubelet"], [P], "k3s cluster traffic"),
    _flow(P, ["flannel"], [P], "flannel vxlan"),
    # The PaaS entry points: clients reach the LB; the LB reaches the nodes' fixed node ports.
    _flow(PAAS_LB_GROUP, PAAS_LB_PORTS, [Source.PAAS_CLIENTS],
          "PaaS http/https/git from clients"),
    _flow(PAAS_LB_GROUP, PAAS_LB_PORTS, [J], "PaaS api and git push from Jenkins"),
    _flow(P, [f.member_purpose for f in PAAS_LOAD_BALANCER.forwards], [Source.TENANT_SUBNET],
          "PaaS node ports from the load balancer"),
    _flow(J, ["http"], [Source.JENKINS_CLIENTS], "Jenkins web and webhooks"),
    # Database: cluster traffic among members; clients through the LB or directly on mysql.
    _flow(D, ["mysql", "sst", "galera", "ist", "clustercheck"], [D], "galera cluster traffic"),
    _flow(D, ["mysql"], [P, J], "mysql from apps and the pipeline"),
    _flow(D, ["mysql", "clustercheck"], [L], "mysql and health checks from HAProxy", HAPROXY),
    _flow(D, ["mysql", "clustercheck"], [Source.TENANT_SUBNET],
          "mysql and health checks from Octavia", OCTAVIA),
    _flow(L, ["mysql"], [P, J], "mysql through the load balancer"),
    # The host checks log in through the load balancer from the database nodes (the only nodes
    # with a mysql client); Octavia's VIP takes them from its allowed CIDRs.
    _flow(L, ["mysql"], [D], "mysql through the load balancer from the host checks", HAPROXY),
)


def group_ports(group: str) -> Mapping[str, Port]:
    """The ports of a security group by purpose: a role's, or a load balancer's listeners."""
    if group == PAAS_LB_GROUP:
        return PAAS_LOAD_BALANCER.ports
    return ROLES[Role(group)].ports


def security_groups(conditions: frozenset[When]) -> tuple[str, ...]:
    """One group per role that exists (db-lb always: on the HAProxy nodes, or on the Octavia VIP
    port), plus the PaaS load balancer's."""
    groups = [r.value for r, s in ROLES.items()
              if r is Role.DB_LB or s.exists_when is None or s.exists_when in conditions]
    groups.insert(groups.index(Role.PAAS.value) + 1, PAAS_LB_GROUP)
    return tuple(groups)
