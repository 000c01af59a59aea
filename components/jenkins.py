"""Jenkins: the controller (configured entirely as code by its user data), JENKINS_HOME on a
data volume, reachable on 8080 from the allowed CIDRs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.config import JenkinsConfig, PipelineConfig
from components.node_group import NodeEnvironment, NodeGroup, NodeGroupArgs, NodeSlot
from components.secrets import PlatformSecrets
from components.userdata import JENKINS_PORT, JenkinsContext, NodeContext, Role, render_cloud_config


def jenkins_url(address: str) -> str:
    return f"http://{address}:{JENKINS_PORT}"


@dataclass(frozen=True)
class JenkinsArgs:
    config: JenkinsConfig
    pipeline: PipelineConfig
    env: NodeEnvironment
    security_group_id: pulumi.Input[str]
    secrets: PlatformSecrets
    paas_domain: pulumi.Input[str]
    paas_admin_username: str
    database_host: pulumi.Input[str]
    database_port: int


class Jenkins(pulumi.ComponentResource):
    url: pulumi.Output[str]
    nodes: NodeGroup

    def __init__(self, name: str, args: JenkinsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasmas:index:Jenkins", name, None, opts)
        cfg, env, secrets = args.config, args.env, args.secrets

        def user_data(slot: NodeSlot,
                      addresses: Sequence[pulumi.Output[str]]) -> pulumi.Output[str]:
            assert slot.data_device is not None
            values = pulumi.Output.all(
                address=slot.address, device=slot.data_device,
                admin=secrets.jenkins_admin_password, domain=args.paas_domain,
                paas_password=secrets.paas_admin_password, db_host=args.database_host,
                db_admin=secrets.database_admin_password)
            return values.apply(lambda v: render_cloud_config(JenkinsContext(
                node=NodeContext(env.stack, Role.JENKINS, slot.index, slot.hostname,
                                 v["address"], env.ssh_user, env.downloads),
                admin_password=v["admin"], paas_domain=v["domain"],
                paas_admin_username=args.paas_admin_username,
                paas_admin_password=v["paas_password"],
                database_host=v["db_host"], database_port=args.database_port,
                database_admin_password=v["db_admin"], pipeline=args.pipeline,
                data_device=v["device"])))

        self.nodes = NodeGroup(
            f"{name}-nodes",
            NodeGroupArgs(role="jenkins", env=env, node=cfg.node,
                          security_group_ids=[args.security_group_id], user_data=user_data,
                          data_volume_size=cfg.data_volume_size),
            opts=pulumi.ResourceOptions(parent=self))
        entry = (self.nodes.floating_addresses[0] if self.nodes.floating_addresses
                 else self.nodes.addresses[0])
        self.url = entry.apply(jenkins_url)
        self.register_outputs({"url": self.url})
