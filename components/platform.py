"""Platform: the whole stack, composed in dependency order, and its output contract."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_openstack as openstack

from components import outputs as out
from components.config import PlatformConfig
from components.contexts import NodePlace, StackNames, bastion_context
from components.database import DatabaseCluster, DatabaseClusterArgs
from components.jenkins import Jenkins, JenkinsArgs
from components.network import Network, NetworkArgs
from components.node_group import NodeEnvironment, NodeGroup, NodeGroupArgs, NodeSlot
from components.paas import PaasCluster, PaasClusterArgs
from components.preflight import CloudFacts
from components.roles import PAAS_LB_GROUP, ROLES, Role
from components.secrets import PlatformSecrets
from components.security import SecurityGroups, SecurityGroupsArgs, plan_stack_security
from components.userdata import render_cloud_config
from pipeline.jobs import app_names


class Platform(pulumi.ComponentResource):
    outputs: dict[str, Any]

    def __init__(self, name: str, cfg: PlatformConfig, facts: CloudFacts, *, stack: str,
                 prefix: str, rolling: frozenset[str] = frozenset(),
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasmas:index:Platform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        secrets = PlatformSecrets(f"{name}-secrets", opts=child)
        network = Network(f"{name}-network", NetworkArgs(
            cfg.network, prefix, facts.external_network_id, facts.existing_network), opts=child)
        group_names, rules = plan_stack_security(cfg)
        groups = SecurityGroups(
            f"{name}-sg",
            SecurityGroupsArgs(prefix=prefix, groups=group_names, rules=rules,
                               subnet_cidr=network.cidr),
            opts=child)
        if cfg.access.ssh_public_key is not None:
            key_pair: pulumi.Input[str] = openstack.compute.Keypair(
                f"{name}-keypair", name=f"{prefix}-key", public_key=cfg.access.ssh_public_key,
                opts=child).name
        else:
            assert cfg.access.existing_keypair is not None  # found by the preflight
            key_pair = cfg.access.existing_keypair

        env = NodeEnvironment(
            prefix=prefix, stack=stack, network_id=network.network_id,
            subnet_id=network.subnet_id, key_pair=key_pair,
            external_network=cfg.network.external_network, ssh_user=cfg.access.ssh_user,
            downloads=cfg.downloads, image_ids=facts.image_ids,
            availability_zones=cfg.availability_zones,
            subnet_cidr=cfg.network.cidr, rolling=rolling)

        names = StackNames(stack, prefix)
        bastion: NodeGroup | None = None
        if cfg.bastion.enabled:
            def bastion_user_data(slot: NodeSlot,
                                  _: object) -> pulumi.Output[str]:
                return slot.address.apply(lambda address: render_cloud_config(bastion_context(
                    cfg, names, NodePlace(slot.index, address))))

            bastion_node = replace(cfg.bastion.node,
                                   floating_ips=(cfg.bastion.floating_ip or "",))
            bastion = NodeGroup(
                f"{name}-bastion",
                NodeGroupArgs(role=Role.BASTION, env=env, node=bastion_node,
                              security_group_ids=[groups.ids[Role.BASTION]],
                              user_data=bastion_user_data),
                opts=child)

        paas = PaasCluster(
            f"{name}-paas",
            PaasClusterArgs(platform=cfg, env=env,
                            node_security_group_id=groups.ids[Role.PAAS],
                            lb_security_group_id=groups.ids[PAAS_LB_GROUP], secrets=secrets,
                            external_network_id=network.external_network_id,
                            dns_zone_id=facts.dns_zone_id),
            opts=child)
        database = DatabaseCluster(
            f"{name}-database",
            DatabaseClusterArgs(
                platform=cfg, env=env, node_security_group_id=groups.ids[Role.DATABASE],
                lb_security_group_id=groups.ids[Role.DB_LB], secrets=secrets,
                paas_addresses=paas.nodes.addresses,
                subnet_prefix_len=subnet_prefix_len(cfg, facts)),
            opts=child)
        jenkins = Jenkins(
            f"{name}-jenkins",
            JenkinsArgs(platform=cfg, env=env, security_group_id=groups.ids[Role.JENKINS],
                        secrets=secrets, paas_domain=paas.domain, database_host=database.host),
            opts=child)

        node_groups: dict[Role, NodeGroup | None] = {
            Role.BASTION: bastion, Role.PAAS: paas.nodes, Role.JENKINS: jenkins.nodes,
            Role.DATABASE: database.nodes, Role.DB_LB: database.lb_nodes}
        # Every role of the registry that has nodes in this stack, by its registry name.
        node_ips: dict[str, Any] = {role.value: group.addresses for role in ROLES
                                    if (group := node_groups[role]) is not None}
        self.outputs = {
            out.PAAS_DOMAIN: paas.domain,
            out.PAAS_CONTROLLER_URL: paas.controller_url,
            out.PAAS_BUILDER_REMOTE: paas.builder_remote,
            out.PAAS_LB_ADDRESS: paas.lb_address,
            out.JENKINS_URL: jenkins.url,
            out.DATABASE_HOST: database.host,
            out.DATABASE_PORT: database.port,
            out.DATABASE_NAME: cfg.database.name,
            out.DATABASE_USER: cfg.database.user,
            out.DATABASE_PASSWORD: secrets.database_app_password,
            out.ETCD_ENDPOINTS: paas.etcd_endpoints,
            out.BASTION_ADDRESS: bastion.floating_addresses[0] if bastion else None,
            out.SSH_USER: cfg.access.ssh_user,
            out.NODE_IPS: node_ips,
            out.NETWORK_ID: network.network_id,
            out.SUBNET_ID: network.subnet_id,
            out.ROUTER_ID: network.router_id,
            out.APP_NAMES: app_names(cfg.pipeline.app_name),
        }
        self.register_outputs(self.outputs)


def subnet_prefix_len(cfg: PlatformConfig, facts: CloudFacts) -> int:
    """The tenant subnet's prefix length: from the config, or from the reused subnet."""
    if cfg.network.cidr is not None:
        return cfg.network.cidr.prefixlen
    assert facts.existing_network is not None  # the loader guarantees one of cidr / existing
    return ipaddress.ip_network(facts.existing_network.subnet_cidr).prefixlen
