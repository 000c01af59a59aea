"""NodeGroup: the one building block every role uses.

Order matters and is explicit: ports (fixed IPs known before any server exists) -> server group
-> data volumes -> servers booted from the role's rendered user data -> volume attachments ->
floating IPs. Nodes are keyed `<role>-<index>`: growing a group never renames existing nodes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from components.config import DownloadsConfig, NodeRoleConfig
from components.planning import availability_zone, fixed_addresses, node_name
from components.roles import Role


@dataclass(frozen=True)
class NodeSlot:
    """What a role's user-data function knows about one node before it boots."""

    index: int
    hostname: str
    address: pulumi.Output[str]
    # Stable device path of the node's data volume (`/dev/disk/by-id/virtio-…`), if it has one.
    data_device: pulumi.Output[str] | None


UserDataFn = Callable[[NodeSlot, Sequence[pulumi.Output[str]]], pulumi.Input[str]]


@dataclass(frozen=True)
class NodeEnvironment:
    """What every node group of one stack shares: where nodes live and how they are reached."""

    prefix: str
    stack: str
    network_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    key_pair: pulumi.Input[str]
    external_network: str
    ssh_user: str
    downloads: DownloadsConfig
    # Image name -> ID, found before anything was declared (components/preflight.py).
    image_ids: Mapping[str, str]
    availability_zones: tuple[str, ...] = ()
    # Fixed IPs are planned when the stack creates the subnet; None lets Neutron choose.
    subnet_cidr: ipaddress.IPv4Network | None = None
    # Hostnames being rolled in this run (`make roll`): only their servers take new user data.
    rolling: frozenset[str] = frozenset()

    def fixed_ips(self, role: Role, size: int) -> tuple[str, ...] | None:
        return fixed_addresses(self.subnet_cidr, role, size) if self.subnet_cidr else None


@dataclass(frozen=True)
class NodeGroupArgs:
    role: Role
    env: NodeEnvironment
    node: NodeRoleConfig
    security_group_ids: Sequence[pulumi.Input[str]]
    user_data: UserDataFn
    data_volume_size: int | None = None
    # A user-data change never replaces a node by itself: nodes take new user data when rolled,
    # one at a time (ops/roll.py). Database nodes may opt out (an explicit stack option).
    replace_on_user_data_change: bool = False
    protect: bool = False
    # Addresses the nodes may also answer for (a VIP they hand between them).
    allowed_addresses: Sequence[pulumi.Input[str]] = ()


def volume_device_path(volume_id: str) -> str:
    """virtio exposes a volume's ID (truncated to 20 characters) as its serial number."""
    return f"/dev/disk/by-id/virtio-{volume_id[:20]}"


class NodeGroup(pulumi.ComponentResource):
    addresses: list[pulumi.Output[str]]
    server_ids: list[pulumi.Output[str]]
    port_ids: list[pulumi.Output[str]]
    floating_addresses: list[pulumi.Output[str]]
    server_group_id: pulumi.Output[str]
    hostnames: list[str]

    def __init__(self, name: str, args: NodeGroupArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasmas:index:NodeGroup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        env = args.env
        size = args.node.size
        fixed_ips = env.fixed_ips(args.role, size)
        self.hostnames = [node_name(env.prefix, args.role, i) for i in range(size)]

        ports = [
            openstack.networking.Port(
                f"{name}-port-{i}",
                name=f"{self.hostnames[i]}-port",
                network_id=env.network_id,
                fixed_ips=[openstack.networking.PortFixedIpArgs(
                    subnet_id=env.subnet_id,
                    ip_address=fixed_ips[i] if fixed_ips else None)],
                security_group_ids=list(args.security_group_ids),
                allowed_address_pairs=[
                    openstack.networking.PortAllowedAddressPairArgs(ip_address=address)
                    for address in args.allowed_addresses] or None,
                admin_state_up=True,
                opts=child,
            )
            for i in range(size)
        ]
        self.port_ids = [p.id for p in ports]
        self.addresses = [p.all_fixed_ips[0] for p in ports]

        server_group = openstack.compute.ServerGroup(
            f"{name}-server-group", name=f"{env.prefix}-{args.role}",
            policies=args.node.server_group_policy.value, opts=child)
        self.server_group_id = server_group.id

        volumes: list[openstack.blockstorage.Volume | None] = [
            openstack.blockstorage.Volume(
                f"{name}-data-{i}", name=f"{self.hostnames[i]}-data",
                size=args.data_volume_size,
                availability_zone=availability_zone(env.availability_zones, i),
                metadata={"role": args.role.value, "index": str(i), "stack": env.stack},
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
            if args.data_volume_size else None
            for i in range(size)
        ]

        image_id = env.image_ids[args.node.image] if args.node.boot_volume_size else None
        servers = []
        for i in range(size):
            takes_user_data = (args.replace_on_user_data_change
                               or self.hostnames[i] in env.rolling)
            # A node keeps its port (and so its address) across a replacement: the old server
            # must let go of the port before the new one can take it.
            server_opts = pulumi.ResourceOptions(
                parent=self, protect=args.protect, delete_before_replace=True,
                ignore_changes=[] if takes_user_data else ["userData"])
            volume = volumes[i]
            slot = NodeSlot(
                index=i, hostname=self.hostnames[i], address=self.addresses[i],
                data_device=volume.id.apply(volume_device_path) if volume else None)
            block_devices = None
            if args.node.boot_volume_size and image_id is not None:
                block_devices = [openstack.compute.InstanceBlockDeviceArgs(
                    source_type="image", uuid=image_id, destination_type="volume",
                    volume_size=args.node.boot_volume_size, boot_index=0,
                    delete_on_termination=True)]
            servers.append(openstack.compute.Instance(
                f"{name}-{i}",
                name=self.hostnames[i],
                flavor_name=args.node.flavor,
                image_name=None if block_devices else args.node.image,
                block_devices=block_devices,
                key_pair=env.key_pair,
                availability_zone=availability_zone(env.availability_zones, i),
                networks=[openstack.compute.InstanceNetworkArgs(port=ports[i].id)],
                scheduler_hints=[openstack.compute.InstanceSchedulerHintArgs(
                    group=server_group.id)],
                user_data=args.user_data(slot, self.addresses),
                metadata={"role": args.role.value, "index": str(i), "stack": env.stack},
                opts=server_opts,
            ))
            if volume is not None:
                openstack.compute.VolumeAttach(
                    f"{name}-data-attach-{i}", instance_id=servers[i].id, volume_id=volume.id,
                    opts=child)
        self.server_ids = [s.id for s in servers]

        self.floating_addresses = []
        for i, address in enumerate(args.node.floating_ips or ()):
            if address:  # reuse a pre-allocated floating IP by its address
                openstack.networking.FloatingIpAssociate(
                    f"{name}-fip-{i}", floating_ip=address, port_id=ports[i].id,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[servers[i]]))
                self.floating_addresses.append(pulumi.Output.from_input(address))
            else:
                fip = openstack.networking.FloatingIp(
                    f"{name}-fip-{i}", pool=env.external_network, port_id=ports[i].id,
                    description=f"{self.hostnames[i]}",
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[servers[i]]))
                self.floating_addresses.append(fip.address)

        self.register_outputs({"addresses": self.addresses, "server_ids": self.server_ids})
