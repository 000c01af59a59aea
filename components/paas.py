"""PaasCluster: etcd + k3s + Drycc Workflow nodes behind an Octavia load balancer.

The load balancer and its floating IP come first: the platform domain (`<ip>.sslip.io` unless
configured, with its records in Designate when a zone is given) is part of the nodes' user
data. Each node then joins the pools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from components.cloud_cleanup import ClusterLoadBalancerCleanup
from components.config import PlatformConfig
from components.contexts import NodePlace, PaasSecrets, StackNames, paas_context
from components.dns import PlatformDns, PlatformDnsArgs
from components.loadbalancer import OctaviaLoadBalancer, OctaviaLoadBalancerArgs, listener_specs
from components.node_group import NodeEnvironment, NodeGroup, NodeGroupArgs, NodeSlot
from components.planning import (
    etcd_client_endpoints,
    etcd_members,
    identity_endpoint,
    paas_builder_remote,
    paas_controller_url,
    platform_domain,
)
from components.roles import PAAS_LOAD_BALANCER, Role
from components.secrets import PlatformSecrets
from components.userdata import (
    OpenStackCloudProviderContext,
    TlsBundle,
    cloud_controller_load_balancer_prefix,
    render_cloud_config,
)

PAAS_LISTENERS = listener_specs(PAAS_LOAD_BALANCER)


@dataclass(frozen=True)
class PaasClusterArgs:
    platform: PlatformConfig
    env: NodeEnvironment
    node_security_group_id: pulumi.Input[str]
    lb_security_group_id: pulumi.Input[str]
    secrets: PlatformSecrets
    external_network_id: pulumi.Input[str]
    dns_zone_id: str | None = None  # the Designate zone of `paas.dns_zone`, found up front


class PaasCluster(pulumi.ComponentResource):
    domain: pulumi.Output[str]
    controller_url: pulumi.Output[str]
    builder_remote: pulumi.Output[str]
    lb_address: pulumi.Output[str]
    etcd_endpoints: pulumi.Output[str]
    nodes: NodeGroup

    def __init__(self, name: str, args: PaasClusterArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasmas:index:PaasCluster", name, None, opts)
        cfg, env, secrets = args.platform.paas, args.env, args.secrets
        names = StackNames(env.stack, env.prefix)
        lb = OctaviaLoadBalancer(
            f"{name}-lb",
            OctaviaLoadBalancerArgs(
                display_name=f"{env.prefix}-paas", subnet_id=env.subnet_id,
                security_group_ids=[args.lb_security_group_id], listeners=PAAS_LISTENERS,
                external_network=env.external_network,
                floating_ip=cfg.load_balancer_floating_ip or ""),
            opts=pulumi.ResourceOptions(parent=self))
        assert lb.floating_address is not None  # the PaaS entry point always has one
        self.lb_address = lb.floating_address
        self.domain = lb.floating_address.apply(lambda ip: platform_domain(cfg.domain, ip))
        if args.dns_zone_id is not None and cfg.domain is not None:
            PlatformDns(f"{name}-dns", PlatformDnsArgs(
                zone_id=args.dns_zone_id, domain=cfg.domain, address=lb.floating_address,
                ttl=cfg.dns_ttl), opts=pulumi.ResourceOptions(parent=self))

        hostnames = [names.hostname(Role.PAAS, i) for i in range(cfg.node.size)]

        # App gateways get Octavia load balancers from openstack-cloud-controller-manager, which
        # acts with an application credential of the stack's own user (docs/cloud-config.md).
        scope = openstack.identity.get_auth_scope_output(
            name="current", opts=pulumi.InvokeOptions(parent=self))
        credential = openstack.identity.ApplicationCredential(
            f"{name}-ccm-credential", name=f"{env.prefix}-ccm",
            description="PaaSmas: the PaaS cluster's OpenStack cloud controller",
            secret=secrets.cloud_controller_secret,
            opts=pulumi.ResourceOptions(parent=self))
        cleanup = ClusterLoadBalancerCleanup(
            f"{name}-ccm-cleanup", name_prefix=cloud_controller_load_balancer_prefix(env.prefix),
            cloud=args.platform.cloud, subnet_id=env.subnet_id,
            opts=pulumi.ResourceOptions(parent=self))
        cloud_provider = pulumi.Output.all(
            catalog=scope.service_catalogs, region=scope.region, id=credential.id,
            secret=secrets.cloud_controller_secret, subnet=env.subnet_id,
            floating=args.external_network_id,
            # data-flow dependency: nodes are created after, and destroyed before, the cleanup
            cleanup=cleanup.id,
        ).apply(lambda v: OpenStackCloudProviderContext(
            auth_url=identity_endpoint(v["catalog"], v["region"]), region=v["region"],
            application_credential_id=v["id"], application_credential_secret=v["secret"],
            subnet_id=v["subnet"], floating_network_id=v["floating"], cluster_name=env.prefix,
            lb_provider=cfg.app_load_balancer_provider))

        def user_data(slot: NodeSlot,
                      addresses: Sequence[pulumi.Output[str]]) -> pulumi.Output[str]:
            cert = secrets.issue(f"{name}-etcd-{slot.index}", slot.hostname,
                                 ip_addresses=[slot.address, "127.0.0.1"],
                                 dns_names=[slot.hostname, "localhost"], parent=self)
            values = pulumi.Output.all(
                addresses=pulumi.Output.all(*addresses), address=slot.address,
                cert=cert.cert_pem, key=cert.key_pem, ca=secrets.ca.cert_pem,
                token=secrets.k3s_token, domain=self.domain,
                admin_password=secrets.paas_admin_password, cloud_provider=cloud_provider)
            return values.apply(lambda v: render_cloud_config(paas_context(
                args.platform, names, NodePlace(slot.index, v["address"]),
                paas_addresses=v["addresses"],
                secrets=PaasSecrets(TlsBundle(v["ca"], v["cert"], v["key"]), v["token"],
                                    v["admin_password"]),
                domain=v["domain"], cloud_provider=v["cloud_provider"])))

        self.nodes = NodeGroup(
            f"{name}-nodes",
            NodeGroupArgs(role=Role.PAAS, env=env, node=cfg.node,
                          security_group_ids=[args.node_security_group_id],
                          user_data=user_data),
            opts=pulumi.ResourceOptions(parent=self))
        for i, address in enumerate(self.nodes.addresses):
            for spec in PAAS_LISTENERS:
                lb.add_member(f"{name}-{spec.name}-member-{i}", spec.name, address,
                              env.subnet_id, parent=self)

        self.etcd_endpoints = pulumi.Output.all(*self.nodes.addresses).apply(
            lambda ips: etcd_client_endpoints(etcd_members(hostnames, ips)))
        self.controller_url = self.domain.apply(paas_controller_url)
        self.builder_remote = self.domain.apply(paas_builder_remote)
        self.register_outputs({"domain": self.domain, "lb_address": self.lb_address,
                               "etcd_endpoints": self.etcd_endpoints})
