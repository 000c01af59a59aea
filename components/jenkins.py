"""Jenkins: the controller (configured entirely as code by its user data), JENKINS_HOME on a
data volume, reachable on 8080 from the allowed CIDRs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.config import PlatformConfig
from components.contexts import JenkinsSecrets, NodePlace, StackNames, jenkins_context
from components.node_group import NodeEnvironment, NodeGroup, NodeGroupArgs, NodeSlot
from components.roles import Role, port
from components.secrets import PlatformSecrets
from components.userdata import render_cloud_config


def jenkins_url(address: str) -> str:
    return f"http://{address}:{port(Role.JENKINS, 'http')}"


@dataclass(frozen=True)
class JenkinsArgs:
    platform: PlatformConfig
    env: NodeEnvironment
    security_group_id: pulumi.Input[str]
    secrets: PlatformSecrets
    paas_domain: pulumi.Input[str]
    database_host: pulumi.Input[str]


class Jenkins(pulumi.ComponentResource):
    url: pulumi.Output[str]
    nodes: NodeGroup

    def __init__(self, name: str, args: JenkinsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasmas:index:Jenkins", name, None, opts)
        cfg, env, secrets = args.platform.jenkins, args.env, args.secrets
        names = StackNames(env.stack, env.prefix)

        def user_data(slot: NodeSlot,
                      addresses: Sequence[pulumi.Output[str]]) -> pulumi.Output[str]:
            assert slot.data_device is not None
            values = pulumi.Output.all(
                address=slot.address, device=slot.data_device,
                admin=secrets.jenkins_admin_password, domain=args.paas_domain,
                paas_password=secrets.paas_admin_password, db_host=args.database_host,
                db_admin=secrets.database_admin_password)
            return values.apply(lambda v: render_cloud_config(jenkins_context(
                args.platform, names, NodePlace(slot.index, v["address"]),
                secrets=JenkinsSecrets(v["admin"], v["paas_password"], v["db_admin"]),
                paas_domain=v["domain"], database_host=v["db_host"],
                data_device=v["device"])))

        self.nodes = NodeGroup(
            f"{name}-nodes",
            NodeGroupArgs(role=Role.JENKINS, env=env, node=cfg.node,
                          security_group_ids=[args.security_group_id], user_data=user_data,
                          data_volume_size=cfg.data_volume_size),
            opts=pulumi.ResourceOptions(parent=self))
        entry = (self.nodes.floating_addresses[0] if self.nodes.floating_addresses
                 else self.nodes.addresses[0])
        self.url = entry.apply(jenkins_url)
        self.register_outputs({"url": self.url})
