"""Security groups per role, allowing only the flows the role registry lists (roles.FLOWS).

`plan_security_rules` is pure: it lists every ingress rule (egress stays Neutron's default).
`SecurityGroups` creates one group per role and those rules; the `default` group is never touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from components.config import DatabaseLoadBalancerMode, PlatformConfig
from components.roles import FLOWS, Flow, Source, When, group_ports, security_groups


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


def conditions(cfg: PlatformConfig) -> frozenset[When]:
    """The registry's conditions that hold for a stack."""
    haproxy = cfg.database.load_balancer.mode is DatabaseLoadBalancerMode.HAPROXY
    return frozenset({When.BASTION if cfg.bastion.enabled else When.NO_BASTION,
                      When.HAPROXY if haproxy else When.OCTAVIA})


def source_cidrs(cfg: PlatformConfig) -> dict[Source, tuple[str, ...]]:
    """The configured networks behind each non-group source."""
    return {Source.OPERATORS: cfg.access.ssh_allowed_cidrs,
            Source.PAAS_CLIENTS: cfg.paas.allowed_cidrs,
            Source.JENKINS_CLIENTS: cfg.jenkins.allowed_cidrs,
            Source.TENANT_SUBNET: (Source.TENANT_SUBNET.value,)}


def plan_security_rules(holding: frozenset[When], cidrs: Mapping[Source, Sequence[str]],
                        flows: Sequence[Flow] = FLOWS) -> tuple[RuleSpec, ...]:
    """Every ingress rule of the registry's flows that apply (egress stays Neutron's default).
    A CIDR source expands to its configured networks; the tenant subnet stays a marker that
    `SecurityGroups` resolves."""
    rules: list[RuleSpec] = []
    for flow in flows:
        if not flow.when <= holding:
            continue
        ports = group_ports(flow.to)
        for purpose in flow.purposes:
            p = ports[purpose]
            for source in flow.sources:
                if isinstance(source, Source):
                    rules.extend(RuleSpec(str(flow.to), p.protocol, p.number, flow.why,
                                          source_cidr=c) for c in cidrs[Source(source)])
                else:
                    rules.append(RuleSpec(str(flow.to), p.protocol, p.number, flow.why,
                                          source_group=str(source)))
    return tuple(rules)


def plan_stack_security(cfg: PlatformConfig) -> tuple[tuple[str, ...], tuple[RuleSpec, ...]]:
    """The groups and rules a stack gets."""
    holding = conditions(cfg)
    return security_groups(holding), plan_security_rules(holding, source_cidrs(cfg))


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
            if rule.source_cidr == Source.TENANT_SUBNET:
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
