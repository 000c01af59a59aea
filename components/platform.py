"""Platform: the whole stack, composed in dependency order, and its output contract."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_openstack as openstack

from components import outputs as out
from components.config import PlatformConfig
from components.database import DatabaseCluster, DatabaseClusterArgs, EtcdAccess
from components.jenkins import Jenkins, JenkinsArgs
from components.network import Network, NetworkArgs
from components.node_group import NodeEnvironment, NodeGroup, NodeGroupArgs, NodeSlot
from components.paas import PaasCluster, PaasClusterArgs
from components.planning import node_name
from components.preflight import CloudFacts
from components.secrets import PlatformSecrets
from components.security import (
    BASTION,
    DATABASE,
    DB_LB,
    JENKINS,
    PAAS,
    PAAS_LB,
    SecurityGroups,
    SecurityGroupsArgs,
    plan_security_rules,
    role_groups,
)
from components.userdata import BastionContext, NodeContext, Role, render_cloud_config
from pipeline.jobs import app_names


class Platform(pulumi.ComponentResource):
    outputs: dict[str, Any]

    def __init__(self, name: str, cfg: PlatformConfig, facts: CloudFacts, *, stack: str,
                 prefix: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasmas:index:Platform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        secrets = PlatformSecrets(f"{name}-secrets", opts=child)
        network = Network(f"{name}-network", NetworkArgs(
            cfg.network, prefix, facts.external_network_id, facts.existing_network), opts=child)
        groups = SecurityGroups(
            f"{name}-sg",
            SecurityGroupsArgs(
                prefix=prefix,
                groups=role_groups(cfg.bastion.enabled),
                rules=plan_security_rules(
                    bastion=cfg.bastion.enabled,
                    ssh_allowed_cidrs=cfg.access.ssh_allowed_cidrs,
                    paas_allowed_cidrs=cfg.paas.allowed_cidrs,
                    jenkins_allowed_cidrs=cfg.jenkins.allowed_cidrs,
                    db_lb_mode=cfg.database.load_balancer.mode),
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
            subnet_cidr=cfg.network.cidr)

        bastion: NodeGroup | None = None
        if cfg.bastion.enabled:
            def bastion_user_data(slot: NodeSlot,
                                  _: object) -> pulumi.Output[str]:
                return slot.address.apply(lambda address: render_cloud_config(BastionContext(
                    NodeContext(stack, Role.BASTION, slot.index, slot.hostname, address,
                                cfg.access.ssh_user, cfg.downloads))))

            bastion_node = replace(cfg.bastion.node,
                                   floating_ips=(cfg.bastion.floating_ip or "",))
            bastion = NodeGroup(
                f"{name}-bastion",
                NodeGroupArgs(role="bastion", env=env, node=bastion_node,
                              security_group_ids=[groups.ids[BASTION]],
                              user_data=bastion_user_data),
                opts=child)

        paas = PaasCluster(
            f"{name}-paas",
            PaasClusterArgs(config=cfg.paas, env=env, node_security_group_id=groups.ids[PAAS],
                            lb_security_group_id=groups.ids[PAAS_LB], secrets=secrets,
                            external_network_id=network.external_network_id,
                            cloud=cfg.cloud, dns_zone_id=facts.dns_zone_id),
            opts=child)
        database = DatabaseCluster(
            f"{name}-database",
            DatabaseClusterArgs(
                config=cfg.database, env=env, node_security_group_id=groups.ids[DATABASE],
                lb_security_group_id=groups.ids[DB_LB], secrets=secrets,
                etcd=EtcdAccess(tuple(node_name(prefix, "paas", i)
                                      for i in range(cfg.paas.node.size)),
                                paas.nodes.addresses),
                subnet_prefix_len=subnet_prefix_len(cfg, facts)),
            opts=child)
        jenkins = Jenkins(
            f"{name}-jenkins",
            JenkinsArgs(config=cfg.jenkins, pipeline=cfg.pipeline, env=env,
                        security_group_id=groups.ids[JENKINS], secrets=secrets,
                        paas_domain=paas.domain,
                        paas_admin_username=cfg.paas.admin_username,
                        database_host=database.host, database_port=database.port),
            opts=child)

        node_ips: dict[str, Any] = {
            "paas": paas.nodes.addresses,
            "database": database.nodes.addresses,
            "jenkins": jenkins.nodes.addresses,
        }
        if bastion is not None:
            node_ips["bastion"] = bastion.addresses
        if database.lb_nodes is not None:
            node_ips["db-lb"] = database.lb_nodes.addresses
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
