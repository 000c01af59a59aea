"""OctaviaLoadBalancer: one reusable unit (load balancer, listeners, pools, health monitors,
optional floating IP). Members are not created here: each node group owns its pool membership
through `add_member`, so the unit can exist before the servers it balances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from components.roles import LoadBalancerSpec


@dataclass(frozen=True)
class HealthCheck:
    kind: str  # "TCP" or "HTTP"
    port: int | None = None  # probe this port instead of the member port (clustercheck)
    url_path: str = "/"
    expected_codes: str = "200"
    delay: int = 5
    timeout: int = 3
    max_retries: int = 2


@dataclass(frozen=True)
class ListenerSpec:
    name: str
    port: int
    member_port: int
    health: HealthCheck


def listener_specs(spec: LoadBalancerSpec) -> tuple[ListenerSpec, ...]:
    """The registry's forwards as Octavia listeners: the client port and the member port come
    from their own roles; an HTTP health check where the members have a health port."""
    return tuple(
        ListenerSpec(f.name, f.port, spec.member_port(f),
                     HealthCheck("HTTP", port=spec.health_port(f)) if f.health_purpose
                     else HealthCheck("TCP"))
        for f in spec.forwards)


@dataclass(frozen=True)
class OctaviaLoadBalancerArgs:
    display_name: str
    subnet_id: pulumi.Input[str]
    security_group_ids: Sequence[pulumi.Input[str]]
    listeners: tuple[ListenerSpec, ...]
    external_network: str
    # None: no floating IP; "": allocate one; an address: reuse that pre-allocated one.
    floating_ip: str | None = None


class OctaviaLoadBalancer(pulumi.ComponentResource):
    id: pulumi.Output[str]
    vip_address: pulumi.Output[str]
    floating_address: pulumi.Output[str] | None
    pool_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: OctaviaLoadBalancerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasmas:index:OctaviaLoadBalancer", name, None, opts)
        lb = openstack.loadbalancer.LoadBalancer(
            f"{name}-lb", name=args.display_name, vip_subnet_id=args.subnet_id,
            security_group_ids=list(args.security_group_ids),
            opts=pulumi.ResourceOptions(parent=self))
        self._lb = lb
        # Octavia rejects changes while the load balancer is PENDING_UPDATE: chain every child.
        self._last: pulumi.Resource = lb
        self._specs = {spec.name: spec for spec in args.listeners}
        self.pool_ids = {}
        for spec in args.listeners:
            listener = openstack.loadbalancer.Listener(
                f"{name}-{spec.name}", name=f"{args.display_name}-{spec.name}",
                loadbalancer_id=lb.id, protocol="TCP", protocol_port=spec.port,
                opts=self._chained())
            self._last = listener
            pool = openstack.loadbalancer.Pool(
                f"{name}-{spec.name}-pool", name=f"{args.display_name}-{spec.name}",
                listener_id=listener.id, protocol="TCP", lb_method="ROUND_ROBIN",
                opts=self._chained())
            self._last = pool
            health = spec.health
            monitor = openstack.loadbalancer.Monitor(
                f"{name}-{spec.name}-monitor", pool_id=pool.id, type=health.kind,
                delay=health.delay, timeout=health.timeout, max_retries=health.max_retries,
                url_path=health.url_path if health.kind == "HTTP" else None,
                expected_codes=health.expected_codes if health.kind == "HTTP" else None,
                http_method="GET" if health.kind == "HTTP" else None,
                opts=self._chained())
            self._last = monitor
            self.pool_ids[spec.name] = pool.id

        self.id = lb.id
        self.vip_address = lb.vip_address
        self.floating_address = None
        if args.floating_ip is not None:
            if args.floating_ip:
                openstack.networking.FloatingIpAssociate(
                    f"{name}-fip", floating_ip=args.floating_ip, port_id=lb.vip_port_id,
                    opts=pulumi.ResourceOptions(parent=self))
                self.floating_address = pulumi.Output.from_input(args.floating_ip)
            else:
                fip = openstack.networking.FloatingIp(
                    f"{name}-fip", pool=args.external_network, port_id=lb.vip_port_id,
                    description=args.display_name, opts=pulumi.ResourceOptions(parent=self))
                self.floating_address = fip.address
        self.register_outputs({"vip_address": self.vip_address,
                               "floating_address": self.floating_address})

    def _chained(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=[self._last])

    def add_member(self, name: str, listener: str, address: pulumi.Input[str],
                   subnet_id: pulumi.Input[str], parent: pulumi.Resource) -> None:
        """Put one node into a listener's pool; the member is a child of the node's owner."""
        spec = self._specs[listener]
        member = openstack.loadbalancer.Member(
            name, pool_id=self.pool_ids[listener], address=address,
            protocol_port=spec.member_port, subnet_id=subnet_id,
            monitor_port=spec.health.port,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[self._last]))
        self._last = member
