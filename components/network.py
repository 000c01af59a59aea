"""The tenant network: created (network, subnet, router, interface) or reused by name/ID."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from components.config import NetworkConfig
from components.planning import allocation_pool, gateway_address
from components.preflight import ExistingNetworkIds


@dataclass(frozen=True)
class NetworkArgs:
    config: NetworkConfig
    prefix: str  # of the names the cloud shows
    external_network_id: str  # found before anything was declared (components/preflight.py)
    existing: ExistingNetworkIds | None  # found likewise when the config reuses a network


class Network(pulumi.ComponentResource):
    network_id: pulumi.Output[str]
    subnet_id: pulumi.Output[str]
    router_id: pulumi.Output[str]
    cidr: pulumi.Output[str]
    external_network_id: pulumi.Output[str]
    external_network_name: str

    def __init__(self, name: str, args: NetworkArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasmas:index:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = args.config
        self.external_network_id = pulumi.Output.from_input(args.external_network_id)
        self.external_network_name = cfg.external_network

        if args.existing is not None:
            self.network_id = pulumi.Output.from_input(args.existing.network_id)
            self.subnet_id = pulumi.Output.from_input(args.existing.subnet_id)
            self.cidr = pulumi.Output.from_input(args.existing.subnet_cidr)
            self.router_id = pulumi.Output.from_input(args.existing.router_id)
        else:
            assert cfg.cidr is not None  # the loader guarantees one of existing / cidr
            net = openstack.networking.Network(
                f"{name}-network", name=f"{args.prefix}-net", admin_state_up=True,
                mtu=cfg.mtu, opts=child)
            pool_start, pool_end = allocation_pool(cfg.cidr)
            subnet_res = openstack.networking.Subnet(
                f"{name}-subnet",
                name=f"{args.prefix}-subnet",
                network_id=net.id,
                cidr=str(cfg.cidr),
                ip_version=4,
                gateway_ip=gateway_address(cfg.cidr),
                dns_nameservers=list(cfg.dns_servers),
                allocation_pools=[openstack.networking.SubnetAllocationPoolArgs(
                    start=pool_start, end=pool_end)],
                opts=child,
            )
            router = openstack.networking.Router(
                f"{name}-router", name=f"{args.prefix}-router",
                external_network_id=args.external_network_id, opts=child)
            openstack.networking.RouterInterface(
                f"{name}-router-interface", router_id=router.id, subnet_id=subnet_res.id,
                opts=child)
            self.network_id = net.id
            self.subnet_id = subnet_res.id
            self.router_id = router.id
            self.cidr = subnet_res.cidr

        self.register_outputs({"network_id": self.network_id, "subnet_id": self.subnet_id,
                               "router_id": self.router_id})
