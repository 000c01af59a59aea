"""NodeGroup: the one building block every role uses.

Order matters and is explicit: ports (fixed IPs known before any server exists) -> server group
-> data volumes -> servers booted from the role's rendered user data -> volume attachments ->
floating IPs. Nodes are keyed `<role>-<index>`: growing a group never renames existing nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from components.config import NodeRoleConfig
from components.planning import availability_zone, node_name


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
class NodeGroupArgs:
    role: str
    prefix: str
    stack: str
    node: NodeRoleConfig
    network_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    security_group_ids: Sequence[pulumi.Input[str]]
    key_pair: pulumi.Input[str]
    user_data: UserDataFn
    external_network: str
    # Fixed IPs planned for this role, or None to let Neutron choose (existing networks).
    fixed_ips: tuple[str, ...] | None = None
    availability_zones: tuple[str, ...] = ()
    data_volume_size: int | None = None
    # Database nodes keep running when only their user data changed (explicit stack option).
    replace_on_user_data_change: bool = True
    protect: bool = False


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
        size = args.node.size
        if args.fixed_ips is not None and len(args.fixed_ips) != size:
            raise ValueError(f"{name}: {len(args.fixed_ips)} fixed IPs for {size} nodes")
        self.hostnames = [node_name(args.prefix, args.role, i) for i in range(size)]

        ports = [
            openstack.networking.Port(
                f"{name}-port-{i}",
                name=f"{self.hostnames[i]}-port",
                network_id=args.network_id,
                fixed_ips=[openstack.networking.PortFixedIpArgs(
                    subnet_id=args.subnet_id,
                    ip_address=args.fixed_ips[i] if args.fixed_ips else None)],
                security_group_ids=list(args.security_group_ids),
                admin_state_up=True,
                opts=child,
            )
            for i in range(size)
        ]
        self.port_ids = [p.id for p in ports]
        self.addresses = [p.all_fixed_ips[0] for p in ports]

        server_group = openstack.compute.ServerGroup(
            f"{name}-server-group", name=f"{args.prefix}-{args.role}",
            policies=args.node.server_group_policy.value, opts=child)
        self.server_group_id = server_group.id

        volumes: list[openstack.blockstorage.Volume | None] = [
            openstack.blockstorage.Volume(
                f"{name}-data-{i}", name=f"{self.hostnames[i]}-data",
                size=args.data_volume_size,
                availability_zone=availability_zone(args.availability_zones, i),
                metadata={"role": args.role, "index": str(i), "stack": args.stack},
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
            if args.data_volume_size else None
            for i in range(size)
        ]

        image_id = (openstack.images.get_image_output(name=args.node.image, most_recent=True,
                                                      opts=pulumi.InvokeOptions(parent=self)).id
                    if args.node.boot_volume_size else None)
        server_opts = pulumi.ResourceOptions(
            parent=self, protect=args.protect,
            ignore_changes=[] if args.replace_on_user_data_change else ["userData"])
        servers = []
        for i in range(size):
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
                key_pair=args.key_pair,
                availability_zone=availability_zone(args.availability_zones, i),
                networks=[openstack.compute.InstanceNetworkArgs(port=ports[i].id)],
                scheduler_hints=[openstack.compute.InstanceSchedulerHintArgs(
                    group=server_group.id)],
                user_data=args.user_data(slot, self.addresses),
                metadata={"role": args.role, "index": str(i), "stack": args.stack},
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
                    f"{name}-fip-{i}", pool=args.external_network, port_id=ports[i].id,
                    description=f"{self.hostnames[i]}",
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[servers[i]]))
                self.floating_addresses.append(fip.address)

        self.register_outputs({"addresses": self.addresses, "server_ids": self.server_ids})
