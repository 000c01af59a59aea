"""User data: `render_cloud_config(context)` turns a typed, role-specific context into the
Flatcar cloud-config a server boots with. The one render function of the project.

Templates live in `cloud-config/<role>.yaml.j2` with shared partials in `cloud-config/partials/`.
Undefined variables are errors (StrictUndefined), so a typo fails a test instead of a boot.
Contexts hold plain values: components resolve Pulumi outputs first and render inside `apply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

import jinja2

from components.config import DownloadsConfig, PipelineConfig
from components.planning import EtcdMember, etcd_client_endpoints, etcd_initial_cluster

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "cloud-config"

# Fixed node ports on the PaaS nodes that the stack's Octavia listeners target.
PAAS_HTTP_NODE_PORT = 30080
PAAS_HTTPS_NODE_PORT = 30443
PAAS_BUILDER_NODE_PORT = 32222
# Health endpoint of every database node, used by the database load balancer.
CLUSTERCHECK_PORT = 9200
JENKINS_PORT = 8080


class Role(StrEnum):
    BASTION = "bastion"
    PAAS = "paas"
    JENKINS = "jenkins"
    DATABASE = "database"
    DB_LB = "db-lb"


@dataclass(frozen=True)
class TlsBundle:
    """A CA certificate and one holder's certificate and key, all PEM."""

    ca_cert: str
    cert: str
    key: str


@dataclass(frozen=True)
class NodeContext:
    """What every role's user data knows about the node itself."""

    stack: str
    role: Role
    index: int
    hostname: str
    address: str
    ssh_user: str
    downloads: DownloadsConfig


@dataclass(frozen=True)
class EtcdClientContext:
    """How a node reaches the platform etcd (database discovery, HAProxy, k3s)."""

    members: tuple[EtcdMember, ...]
    tls: TlsBundle

    @property
    def endpoints(self) -> str:
        return etcd_client_endpoints(self.members)

    @property
    def initial_cluster(self) -> str:
        return etcd_initial_cluster(self.members)


@dataclass(frozen=True)
class BastionContext:
    node: NodeContext


@dataclass(frozen=True)
class PaasContext:
    node: NodeContext
    etcd: EtcdClientContext  # tls: this member's server+client certificate
    k3s_token: str
    domain: str
    admin_username: str
    admin_password: str
    cluster_cidr: str
    service_cidr: str

    @property
    def is_first(self) -> bool:
        return self.node.index == 0


@dataclass(frozen=True)
class DatabaseSecrets:
    root_password: str
    sst_password: str
    clustercheck_password: str
    app_password: str
    # `paasmas_admin`: creates per-app databases and users for the pipeline (not root).
    admin_password: str


@dataclass(frozen=True)
class DatabaseContext:
    node: NodeContext
    etcd: EtcdClientContext  # tls: a client certificate
    peers: tuple[str, ...]  # every database node's address, this one included
    cluster_name: str
    app_database: str
    app_user: str
    secrets: DatabaseSecrets
    galera_tls: TlsBundle
    data_device: str

    @property
    def discovery_prefix(self) -> str:
        return f"/paasmas/{self.node.stack}/db/members/"


@dataclass(frozen=True)
class DatabaseLoadBalancerContext:
    node: NodeContext
    etcd: EtcdClientContext  # tls: a client certificate
    database_peers: tuple[str, ...]
    stack: str

    @property
    def discovery_prefix(self) -> str:
        return f"/paasmas/{self.stack}/db/members/"


@dataclass(frozen=True)
class JenkinsContext:
    node: NodeContext
    admin_password: str
    paas_controller_url: str
    paas_admin_username: str
    paas_admin_password: str
    database_host: str
    database_port: int
    database_admin_password: str
    pipeline: PipelineConfig
    data_device: str


RoleContext = (
    BastionContext | PaasContext | DatabaseContext | DatabaseLoadBalancerContext | JenkinsContext
)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # YAML and shell, not HTML
    )


def render_cloud_config(context: RoleContext) -> str:
    """The cloud-config text for one node, starting with the `#cloud-config` line."""
    template = _environment().get_template(f"{context.node.role.value}.yaml.j2")
    text = template.render(ctx=context, node=context.node)
    if not text.startswith("#cloud-config\n"):
        raise ValueError(f"{context.node.role} template must start with '#cloud-config'")
    return text
