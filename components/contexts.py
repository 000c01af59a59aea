"""The one builder of each role's user-data context, from the stack config and the values only
the cloud or the generated secrets know (addresses, certificates, passwords).

Pure: the components call these inside `apply` with resolved outputs, the render tests call
them with fixed stand-ins (so the golden files show what the program renders), and the host lab
calls them with its own certificates. Whatever a context derives from the config (names,
etcd membership, database settings, ports) is derived here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from components.config import PlatformConfig
from components.planning import etcd_members, node_name
from components.roles import Role, port
from components.userdata import (
    BastionContext,
    DatabaseContext,
    DatabaseLoadBalancerContext,
    DatabaseSecrets,
    EtcdClientContext,
    JenkinsContext,
    NodeContext,
    OpenStackCloudProviderContext,
    PaasContext,
    TlsBundle,
)


@dataclass(frozen=True)
class StackNames:
    """The stack's name and the prefix of every name the cloud shows."""

    stack: str
    prefix: str

    def hostname(self, role: Role, index: int) -> str:
        return node_name(self.prefix, role, index)

    @property
    def database_cluster_name(self) -> str:
        return f"{self.prefix}-pxc"


@dataclass(frozen=True)
class NodePlace:
    """One node as its group knows it before it boots."""

    index: int
    address: str


def node_context(cfg: PlatformConfig, names: StackNames, role: Role,
                 place: NodePlace) -> NodeContext:
    return NodeContext(names.stack, role, place.index, names.hostname(role, place.index),
                       place.address, cfg.access.ssh_user, cfg.downloads)


def etcd_client_context(names: StackNames, paas_addresses: Sequence[str],
                        tls: TlsBundle) -> EtcdClientContext:
    """The platform etcd as a client (or member) sees it: every PaaS node, by hostname."""
    hostnames = [names.hostname(Role.PAAS, i) for i in range(len(paas_addresses))]
    return EtcdClientContext(etcd_members(hostnames, paas_addresses), tls)


def bastion_context(cfg: PlatformConfig, names: StackNames, place: NodePlace) -> BastionContext:
    return BastionContext(node_context(cfg, names, Role.BASTION, place))


@dataclass(frozen=True)
class PaasSecrets:
    etcd_tls: TlsBundle  # this member's server and client certificate
    k3s_token: str
    admin_password: str


def paas_context(cfg: PlatformConfig, names: StackNames, place: NodePlace, *,
                 paas_addresses: Sequence[str], secrets: PaasSecrets, domain: str,
                 cloud_provider: OpenStackCloudProviderContext | None) -> PaasContext:
    return PaasContext(
        node=node_context(cfg, names, Role.PAAS, place),
        etcd=etcd_client_context(names, paas_addresses, secrets.etcd_tls),
        k3s_token=secrets.k3s_token, domain=domain, admin_username=cfg.paas.admin_username,
        admin_password=secrets.admin_password, cluster_cidr=str(cfg.paas.cluster_cidr),
        service_cidr=str(cfg.paas.service_cidr), cloud_provider=cloud_provider)


def database_context(cfg: PlatformConfig, names: StackNames, place: NodePlace, *,
                     database_addresses: Sequence[str], paas_addresses: Sequence[str],
                     etcd_tls: TlsBundle, galera_tls: TlsBundle, secrets: DatabaseSecrets,
                     data_device: str) -> DatabaseContext:
    return DatabaseContext(
        node=node_context(cfg, names, Role.DATABASE, place),
        etcd=etcd_client_context(names, paas_addresses, etcd_tls),
        peers=tuple(database_addresses), cluster_name=names.database_cluster_name,
        app_database=cfg.database.name, app_user=cfg.database.user, secrets=secrets,
        galera_tls=galera_tls, data_device=data_device)


def database_lb_context(cfg: PlatformConfig, names: StackNames, place: NodePlace, *,
                        database_addresses: Sequence[str], paas_addresses: Sequence[str],
                        etcd_tls: TlsBundle, vip_address: str,
                        subnet_prefix_len: int) -> DatabaseLoadBalancerContext:
    return DatabaseLoadBalancerContext(
        node=node_context(cfg, names, Role.DB_LB, place),
        etcd=etcd_client_context(names, paas_addresses, etcd_tls),
        database_peers=tuple(database_addresses), stack=names.stack,
        vip_address=vip_address, vip_prefix_len=subnet_prefix_len)


@dataclass(frozen=True)
class JenkinsSecrets:
    admin_password: str
    paas_admin_password: str
    database_admin_password: str


def jenkins_context(cfg: PlatformConfig, names: StackNames, place: NodePlace, *,
                    secrets: JenkinsSecrets, paas_domain: str, database_host: str,
                    data_device: str) -> JenkinsContext:
    return JenkinsContext(
        node=node_context(cfg, names, Role.JENKINS, place),
        admin_password=secrets.admin_password, paas_domain=paas_domain,
        paas_admin_username=cfg.paas.admin_username,
        paas_admin_password=secrets.paas_admin_password, database_host=database_host,
        database_port=port(Role.DB_LB, "mysql"),
        database_admin_password=secrets.database_admin_password, pipeline=cfg.pipeline,
        data_device=data_device)
