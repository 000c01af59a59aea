"""Security groups per role, allowing only the flows the platform needs.

`plan_security_rules` is pure: it lists every ingress rule (egress stays Neutron's default).
`SecurityGroups` creates one group per role and those rules; the `default` group is never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from components.config import DatabaseLoadBalancerMode
from components.userdata import (
    CLUSTERCHECK_PORT,
    JENKINS_PORT,
    PAAS_BUILDER_NODE_PORT,
    PAAS_HTTP_NODE_PORT,
    PAAS_HTTPS_NODE_PORT,
)

BASTION = "bastion"
PAAS = "paas"
PAAS_LB = "paas-lb"
JENKINS = "jenkins"
DATABASE = "database"
DB_LB = "db-lb"

# The load balancer's own port in the tenant subnet reaches the members (Octavia's amphora port
# carries Octavia's group, not ours), so member-side rules for an Octavia LB name the subnet.
SUBNET = "<tenant-subnet>"

PAAS_LB_PORTS = (80, 443, 2222)
DATABASE_CLUSTER_PORTS = (3306, 4444, 4567, 4568, CLUSTERCHECK_PORT)


@dataclass(frozen=True)
class RuleSpec:
    """One ingress rule: to `group`, `protocol`/`port` from a CIDR or from another group."""

    group: str
    protocol: str
    port: int
    description: str
    source_cidr: str | None = None
    source_group: str | None = None

    @property
    def key(self) -> str:
        """Stable name: the same flow always gets the same resource name."""
        source = self.source_group or (self.source_cidr or "").replace("/", "_")
        return f"{self.group}-{self.protocol}{self.port}-from-{source}"


def role_groups(bastion: bool) -> tuple[str, ...]:
    # db-lb exists in both modes: on the HAProxy nodes, or on the Octavia VIP port.
    groups = [PAAS, PAAS_LB, JENKINS, DATABASE, DB_LB]
    if bastion:
        groups.insert(0, BASTION)
    return tuple(groups)


def plan_security_rules(*, bastion: bool, ssh_allowed_cidrs: Sequence[str],
                        paas_allowed_cidrs: Sequence[str],
                        jenkins_allowed_cidrs: Sequence[str],
                        db_lb_mode: DatabaseLoadBalancerMode) -> tuple[RuleSpec, ...]:
    rules: list[RuleSpec] = []

    def tcp(group: str, ports: Iterable[int], why: str, *, cidrs: Sequence[str] = (),
            groups: Sequence[str] = ()) -> None:
        for port in ports:
            rules.extend(RuleSpec(group, "tcp", port, why, source_cidr=c) for c in cidrs)
            rules.extend(RuleSpec(group, "tcp", port, why, source_group=g) for g in groups)

    haproxy = db_lb_mode is DatabaseLoadBalancerMode.HAPROXY
    # SSH: the bastion from operators; every other node only from the bastion.
    nodes = [PAAS, JENKINS, DATABASE] + ([DB_LB] if haproxy else [])
    if bastion:
        tcp(BASTION, [22], "ssh from operators", cidrs=ssh_allowed_cidrs)
        for group in nodes:
            tcp(group, [22], "ssh from the bastion", groups=[BASTION])
    else:
        for group in nodes:
            tcp(group, [22], "ssh from operators (no bastion)", cidrs=ssh_allowed_cidrs)

    # etcd: peers among members; clients are the PaaS nodes (k3s), database and HAProxy nodes.
    etcd_clients = [PAAS, DATABASE] + ([DB_LB] if haproxy else [])
    tcp(PAAS, [2379], "etcd clients", groups=etcd_clients)
    tcp(PAAS, [2380], "etcd peers", groups=[PAAS])
    # k3s inside the PaaS group: API server, kubelet; flannel's VXLAN below.
    tcp(PAAS, [6443, 10250], "k3s cluster traffic", groups=[PAAS])
    rules.append(RuleSpec(PAAS, "udp", 8472, "flannel vxlan", source_group=PAAS))
    # The PaaS entry points: clients reach the LB; the LB reaches the nodes' fixed node ports.
    tcp(PAAS_LB, PAAS_LB_PORTS, "PaaS http/https/git from clients", cidrs=paas_allowed_cidrs)
    tcp(PAAS_LB, PAAS_LB_PORTS, "PaaS api and git push from Jenkins", groups=[JENKINS])
    tcp(PAAS, [PAAS_HTTP_NODE_PORT, PAAS_HTTPS_NODE_PORT, PAAS_BUILDER_NODE_PORT],
        "PaaS node ports from the load balancer", cidrs=[SUBNET])

    tcp(JENKINS, [JENKINS_PORT], "Jenkins web and webhooks", cidrs=jenkins_allowed_cidrs)

    # Database: cluster traffic among members; clients through the LB or directly on 3306.
    tcp(DATABASE, DATABASE_CLUSTER_PORTS, "galera cluster traffic", groups=[DATABASE])
    tcp(DATABASE, [3306], "mysql from apps and the pipeline", groups=[PAAS, JENKINS])
    if haproxy:
        tcp(DATABASE, [3306, CLUSTERCHECK_PORT], "mysql and health checks from HAProxy",
            groups=[DB_LB])
    else:
        tcp(DATABASE, [3306, CLUSTERCHECK_PORT], "mysql and health checks from Octavia",
            cidrs=[SUBNET])
    tcp(DB_LB, [3306], "mysql through the load balancer", groups=[PAAS, JENKINS])
    if haproxy:
        # The host checks log in through the load balancer from the database nodes (the only
        # nodes with a mysql client); Octavia's VIP takes them from its allowed CIDRs.
        tcp(DB_LB, [3306], "mysql through the load balancer from the host checks",
            groups=[DATABASE])
    return tuple(rules)


@dataclass(frozen=True)
class SecurityGroupsArgs:
    prefix: str
    rules: tuple[RuleSpec, ...]
    groups: tuple[str, ...]
    subnet_cidr: pulumi.Input[str]


class SecurityGroups(pulumi.ComponentResource):
    """One group per role (by role name in `ids`), holding exactly the planned rules."""

    ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: SecurityGroupsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasmas:index:SecurityGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        groups = {
            role: openstack.networking.SecGroup(
                f"{name}-{role}", name=f"{args.prefix}-{role}",
                description=f"PaaSmas {role} nodes", opts=child)
            for role in args.groups
        }
        for rule in args.rules:
            remote_cidr: pulumi.Input[str] | None = rule.source_cidr
            if rule.source_cidr == SUBNET:
                remote_cidr = args.subnet_cidr
            openstack.networking.SecGroupRule(
                f"{name}-{rule.key}",
                security_group_id=groups[rule.group].id,
                direction="ingress",
                ethertype="IPv4",
                protocol=rule.protocol,
                port_range_min=rule.port,
                port_range_max=rule.port,
                remote_ip_prefix=remote_cidr,
                remote_group_id=groups[rule.source_group].id if rule.source_group else None,
                description=rule.description,
                opts=child,
            )
        self.ids = {role: group.id for role, group in groups.items()}
        self.register_outputs({"ids": self.ids})
