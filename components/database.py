"""DatabaseCluster: Percona XtraDB Cluster nodes (a data volume each) discovered through etcd,
behind a load balancer: Octavia (TCP 3306, HTTP health check on clustercheck) or HAProxy nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from components.config import DatabaseLoadBalancerMode, PlatformConfig
from components.contexts import (
    NodePlace,
    StackNames,
    database_context,
    database_lb_context,
)
from components.loadbalancer import OctaviaLoadBalancer, OctaviaLoadBalancerArgs, listener_specs
from components.node_group import NodeEnvironment, NodeGroup, NodeGroupArgs, NodeSlot
from components.planning import database_vip_address
from components.roles import DATABASE_LOAD_BALANCER, Role
from components.secrets import IssuedCertificate, PlatformSecrets
from components.userdata import DatabaseSecrets, TlsBundle, render_cloud_config

DATABASE_LISTENERS = listener_specs(DATABASE_LOAD_BALANCER)


@dataclass(frozen=True)
class DatabaseClusterArgs:
    platform: PlatformConfig
    env: NodeEnvironment
    node_security_group_id: pulumi.Input[str]
    lb_security_group_id: pulumi.Input[str]
    secrets: PlatformSecrets
    paas_addresses: Sequence[pulumi.Output[str]]  # the etcd members
    subnet_prefix_len: int  # of the tenant subnet: the HAProxy nodes' VIP lives in it


class DatabaseCluster(pulumi.ComponentResource):
    host: pulumi.Output[str]
    port: int
    nodes: NodeGroup
    lb_nodes: NodeGroup | None

    def __init__(self, name: str, args: DatabaseClusterArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasmas:index:DatabaseCluster", name, None, opts)
        cfg, env, secrets = args.platform.database, args.env, args.secrets
        names = StackNames(env.stack, env.prefix)
        etcd_client = secrets.issue(f"{name}-etcd-client", f"{env.prefix}-database",
                                    server=False, parent=self)
        etcd_hosts = pulumi.Output.all(*args.paas_addresses)
        galera_certs: list[IssuedCertificate] = []

        def galera_cert(addresses: Sequence[pulumi.Output[str]]) -> IssuedCertificate:
            # One certificate for every member: PXC expects the same ssl-ca/cert/key cluster-wide.
            if not galera_certs:
                galera_certs.append(secrets.issue(
                    f"{name}-galera", f"{env.prefix}-galera", ip_addresses=list(addresses),
                    parent=self))
            return galera_certs[0]

        def user_data(slot: NodeSlot,
                      addresses: Sequence[pulumi.Output[str]]) -> pulumi.Output[str]:
            galera = galera_cert(addresses)
            assert slot.data_device is not None
            values = pulumi.Output.all(
                peers=pulumi.Output.all(*addresses), address=slot.address,
                device=slot.data_device, etcd_hosts=etcd_hosts, ca=secrets.ca.cert_pem,
                etcd_cert=etcd_client.cert_pem, etcd_key=etcd_client.key_pem,
                galera_cert=galera.cert_pem, galera_key=galera.key_pem,
                root=secrets.database_root_password, sst=secrets.database_sst_password,
                check=secrets.database_clustercheck_password,
                app=secrets.database_app_password, admin=secrets.database_admin_password)
            return values.apply(lambda v: render_cloud_config(database_context(
                args.platform, names, NodePlace(slot.index, v["address"]),
                database_addresses=v["peers"], paas_addresses=v["etcd_hosts"],
                etcd_tls=TlsBundle(v["ca"], v["etcd_cert"], v["etcd_key"]),
                galera_tls=TlsBundle(v["ca"], v["galera_cert"], v["galera_key"]),
                secrets=DatabaseSecrets(v["root"], v["sst"], v["check"], v["app"], v["admin"]),
                data_device=v["device"])))

        self.nodes = NodeGroup(
            f"{name}-nodes",
            NodeGroupArgs(role=Role.DATABASE, env=env, node=cfg.node,
                          security_group_ids=[args.node_security_group_id],
                          user_data=user_data, data_volume_size=cfg.data_volume_size,
                          replace_on_user_data_change=cfg.replace_on_user_data_change,
                          protect=True),
            opts=pulumi.ResourceOptions(parent=self))
        self.port = DATABASE_LOAD_BALANCER.forwards[0].port
        self.lb_nodes = None

        if cfg.load_balancer.mode is DatabaseLoadBalancerMode.OCTAVIA:
            lb = OctaviaLoadBalancer(
                f"{name}-lb",
                OctaviaLoadBalancerArgs(
                    display_name=f"{env.prefix}-database", subnet_id=env.subnet_id,
                    security_group_ids=[args.lb_security_group_id],
                    listeners=DATABASE_LISTENERS, external_network=env.external_network),
                opts=pulumi.ResourceOptions(parent=self))
            for i, address in enumerate(self.nodes.addresses):
                lb.add_member(f"{name}-mysql-member-{i}", "mysql", address, env.subnet_id,
                              parent=self)
            self.host = lb.vip_address
        else:
            assert cfg.load_balancer.node is not None
            database_peers = pulumi.Output.all(*self.nodes.addresses)
            # The address clients use: a port of its own reserves it in Neutron, the HAProxy
            # nodes may answer for it, and the one elected through etcd holds it.
            vip_port = openstack.networking.Port(
                f"{name}-vip", name=f"{env.prefix}-database-vip", network_id=env.network_id,
                fixed_ips=[openstack.networking.PortFixedIpArgs(
                    subnet_id=env.subnet_id,
                    ip_address=(database_vip_address(env.subnet_cidr)
                                if env.subnet_cidr else None))],
                security_group_ids=[args.lb_security_group_id],
                opts=pulumi.ResourceOptions(parent=self))
            vip = vip_port.all_fixed_ips[0]

            def lb_user_data(slot: NodeSlot,
                             addresses: Sequence[pulumi.Output[str]]) -> pulumi.Output[str]:
                values = pulumi.Output.all(
                    address=slot.address, peers=database_peers, etcd_hosts=etcd_hosts,
                    ca=secrets.ca.cert_pem, cert=etcd_client.cert_pem, key=etcd_client.key_pem,
                    vip=vip)
                return values.apply(lambda v: render_cloud_config(database_lb_context(
                    args.platform, names, NodePlace(slot.index, v["address"]),
                    database_addresses=v["peers"], paas_addresses=v["etcd_hosts"],
                    etcd_tls=TlsBundle(v["ca"], v["cert"], v["key"]), vip_address=v["vip"],
                    subnet_prefix_len=args.subnet_prefix_len)))

            self.lb_nodes = NodeGroup(
                f"{name}-lb-nodes",
                NodeGroupArgs(role=Role.DB_LB, env=env, node=cfg.load_balancer.node,
                              security_group_ids=[args.lb_security_group_id],
                              user_data=lb_user_data, allowed_addresses=[vip]),
                opts=pulumi.ResourceOptions(parent=self))
            self.host = vip
        self.register_outputs({"host": self.host})

