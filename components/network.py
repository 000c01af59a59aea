"""The tenant network: created (network, subnet, router, interface) or reused by name/ID."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from components.config import NetworkConfig
from components.planning import allocation_pool, gateway_address


@dataclass(frozen=True)
class NetworkArgs:
    config: NetworkConfig
    prefix: str  # of the names the cloud shows


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
        external = openstack.networking.get_network_output(name=cfg.external_network,
                                                           external=True, opts=_invoke(self))
        self.external_network_id = external.id
        self.external_network_name = cfg.external_network

        if cfg.existing is not None:
            network = openstack.networking.get_network_output(
                network_id=_id_or_none(cfg.existing.network),
                name=_name_or_none(cfg.existing.network), opts=_invoke(self))
            subnet = openstack.networking.get_subnet_output(
                subnet_id=_id_or_none(cfg.existing.subnet),
                name=_name_or_none(cfg.existing.subnet), opts=_invoke(self))
            self.network_id = network.id
            self.subnet_id = subnet.id
            self.cidr = subnet.cidr
            if cfg.existing.router is not None:
                found_router = openstack.networking.get_router_output(
                    router_id=_id_or_none(cfg.existing.router),
                    name=_name_or_none(cfg.existing.router), opts=_invoke(self))
                self.router_id = found_router.id
            else:
                self.router_id = pulumi.Output.from_input("")
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
                external_network_id=external.id, opts=child)
            openstack.networking.RouterInterface(
                f"{name}-router-interface", router_id=router.id, subnet_id=subnet_res.id,
                opts=child)
            self.network_id = net.id
            self.subnet_id = subnet_res.id
            self.router_id = router.id
            self.cidr = subnet_res.cidr

        self.register_outputs({"network_id": self.network_id, "subnet_id": self.subnet_id,
                               "router_id": self.router_id})


def _invoke(parent: pulumi.Resource) -> pulumi.InvokeOptions:
    return pulumi.InvokeOptions(parent=parent)


def _looks_like_id(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _id_or_none(value: str) -> str | None:
    return value if _looks_like_id(value) else None


def _name_or_none(value: str) -> str | None:
    return None if _looks_like_id(value) else value
