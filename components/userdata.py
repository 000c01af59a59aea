"""User data: `render_cloud_config(context)` turns a typed, role-specific context into the
Flatcar cloud-config a server boots with. The one render function of the project.

Templates live in `cloud-config/<role>.yaml.j2` with shared partials in `cloud-config/partials/`.
Undefined variables are errors (StrictUndefined), so a typo fails a test instead of a boot.
Contexts hold plain values: components resolve Pulumi outputs first and render inside `apply`.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from components.config import DownloadsConfig, PipelineConfig
from components.planning import (
    EtcdMember,
    etcd_client_endpoints,
    etcd_initial_cluster,
    paas_builder_remote,
    paas_controller_url,
)
from components.roles import Role, port

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "cloud-config"
# Every image and downloaded file, pinned in one place (see its header).
PINS_FILE = TEMPLATE_DIR / "pins.yaml"
# OpenStack's limit on user data, counted after base64 (nova MAX_USERDATA_SIZE).
USER_DATA_LIMIT_BASE64 = 65535

# Database discovery: a member's key lives as long as a lease it renews while Synced.
DISCOVERY_LEASE_TTL = 15
DISCOVERY_INTERVAL = 5
# The database VIP's holder renews its etcd lease every VIP_INTERVAL seconds and keeps the
# address only until VIP_LEASE_TTL - VIP_MARGIN seconds after the last renewal etcd answered
# was sent: the lease (and so another node's claim) cannot come sooner, even when etcd goes
# silent (cloud-config/scripts/paasmas-vip-agent; tests/render/test_agents_etcd.py).
VIP_LEASE_TTL = 10
VIP_INTERVAL = 2
VIP_MARGIN = 3
# Where a data volume is mounted on the roles that have one (database, jenkins).
DATA_MOUNT = "/srv/data"
DATA_LABEL = "paasmas-data"


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
class OpenStackCloudProviderContext:
    """What openstack-cloud-controller-manager needs to give each app's LoadBalancer Service an
    Octavia load balancer. The stack creates the application credential; `cluster_name` prefixes
    every load balancer the controller creates (`kube_service_<cluster_name>_<ns>_<svc>`), which
    is how `pulumi destroy` finds and deletes them before the network goes."""

    auth_url: str
    region: str
    application_credential_id: str
    application_credential_secret: str
    subnet_id: str  # where app load balancers get their VIP (the tenant subnet)
    floating_network_id: str  # external network for their floating IPs
    cluster_name: str
    lb_provider: str = "amphora"  # or "ovn" where the cloud has it (cheaper per PR app)
    ca_cert: str | None = None  # Keystone's CA when it is not publicly trusted


def cloud_controller_load_balancer_prefix(cluster_name: str) -> str:
    """Every Octavia load balancer openstack-cloud-controller-manager creates for the cluster is
    named `kube_service_<cluster_name>_<namespace>_<service>`: what `pulumi destroy` must delete
    (they are outside the stack's state) before the network goes."""
    return f"kube_service_{cluster_name}_"


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
    # None: no cloud controller; app gateways then get no external address (docs/cloud-config.md).
    cloud_provider: OpenStackCloudProviderContext | None = None

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

    @property
    def cluster_key(self) -> str:
        """The durable record that the cluster was created, and which cluster it is."""
        return f"/paasmas/{self.node.stack}/db/cluster"


@dataclass(frozen=True)
class DatabaseLoadBalancerContext:
    node: NodeContext
    etcd: EtcdClientContext  # tls: a client certificate
    database_peers: tuple[str, ...]
    stack: str
    vip_address: str  # the database address the HAProxy nodes hand between them
    vip_prefix_len: int

    @property
    def discovery_prefix(self) -> str:
        return f"/paasmas/{self.stack}/db/members/"

    @property
    def vip_key(self) -> str:
        return f"/paasmas/{self.stack}/db-lb/vip"


@dataclass(frozen=True)
class JenkinsContext:
    node: NodeContext
    admin_password: str
    paas_domain: str
    paas_admin_username: str
    paas_admin_password: str
    database_host: str
    database_port: int
    database_admin_password: str
    pipeline: PipelineConfig
    data_device: str

    @property
    def paas_controller_url(self) -> str:
        return paas_controller_url(self.paas_domain)

    @property
    def paas_builder_remote(self) -> str:
        return paas_builder_remote(self.paas_domain)


RoleContext = (
    BastionContext | PaasContext | DatabaseContext | DatabaseLoadBalancerContext | JenkinsContext
)


@cache
def load_pins(path: Path = PINS_FILE) -> dict[str, Any]:
    pins: dict[str, Any] = yaml.safe_load(path.read_text())
    return pins


def image_reference(pin: dict[str, Any], mirror: str | None) -> str:
    """`registry/repo:tag@digest`; with a mirror, `<mirror>/<registry>/<repo>...`: the mirror
    proxies every upstream registry under a path named after it (Harbor/zot/distribution
    pull-through caches set up per registry)."""
    reference = f"{pin['repository']}:{pin['tag']}"
    if pin.get("digest"):
        reference += f"@{pin['digest']}"
    return f"{mirror.rstrip('/')}/{reference}" if mirror else reference


def _jenkins_pipeline_files(context: JenkinsContext) -> dict[str, Any]:
    """What the pipeline (pipeline/jobs.py) puts on the Jenkins node: its Job DSL seed, the deploy
    script and its settings. Without a repository there is no seed and no settings."""
    from pipeline.jobs import (
        BUILDER_SSH_CREDENTIALS_ID,
        DATABASE_ADMIN_CREDENTIALS_ID,
        PAAS_TOKEN_CREDENTIALS_ID,
        PipelineContext,
        PlatformEndpoints,
        deploy_script_text,
        render_job_dsl,
        render_pipeline_env,
    )

    files: dict[str, Any] = {
        "job_dsl": None, "pipeline_env": None, "deploy_script": deploy_script_text(),
        # The credential IDs the pipeline binds (docs/pipeline.md); JCasC defines them.
        "jenkins_ids": {"paas_token": PAAS_TOKEN_CREDENTIALS_ID,
                        "database_admin": DATABASE_ADMIN_CREDENTIALS_ID,
                        "builder_ssh": BUILDER_SSH_CREDENTIALS_ID},
    }
    p = context.pipeline
    if p.repository is None:
        return files
    pipeline = PipelineContext.from_config(p)
    files["job_dsl"] = render_job_dsl(pipeline)
    files["pipeline_env"] = render_pipeline_env(pipeline, PlatformEndpoints(
        paas_domain=context.paas_domain, paas_controller_url=context.paas_controller_url,
        paas_builder_remote=context.paas_builder_remote, database_host=context.database_host,
        database_port=context.database_port))
    return files


@cache
def _environment(template_dir: Path = TEMPLATE_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # YAML and shell, not HTML
    )

    def script(name: str) -> str:
        # Read raw: shell has `${#var}`, which Jinja would take for a comment.
        return (template_dir / "scripts" / name).read_text()

    @jinja2.pass_context
    def fragment(context: jinja2.runtime.Context, name: str) -> str:
        # Another template (a unit, a config file) rendered with the caller's variables, as
        # text that the caller indents into its YAML.
        return context.environment.get_template(name).render(context.get_all())

    env.globals["script"] = script
    env.globals["fragment"] = fragment
    env.globals["pins"] = load_pins(template_dir / "pins.yaml")
    env.filters["image"] = image_reference
    env.filters["sha256"] = lambda text: hashlib.sha256(str(text).encode()).hexdigest()
    env.filters["b64"] = lambda text: base64.b64encode(str(text).encode()).decode()
    # Ports come from the role registry: `{{ port('database', 'clustercheck') }}`.
    env.globals["port"] = port
    env.globals.update(
        DATA_MOUNT=DATA_MOUNT,
        DATA_LABEL=DATA_LABEL, DISCOVERY_LEASE_TTL=DISCOVERY_LEASE_TTL,
        DISCOVERY_INTERVAL=DISCOVERY_INTERVAL, VIP_LEASE_TTL=VIP_LEASE_TTL,
        VIP_INTERVAL=VIP_INTERVAL, VIP_MARGIN=VIP_MARGIN)
    return env


def render_cloud_config(context: RoleContext, *, template_dir: Path = TEMPLATE_DIR) -> str:
    """The cloud-config text for one node, starting with the `#cloud-config` line.

    `template_dir` exists for the tests that prove a broken template fails."""
    template = _environment(template_dir).get_template(f"{context.node.role.value}.yaml.j2")
    extra: dict[str, Any] = {}
    if isinstance(context, JenkinsContext):
        extra.update(_jenkins_pipeline_files(context))
    text = template.render(ctx=context, node=context.node, **extra)
    if not text.startswith("#cloud-config\n"):
        raise ValueError(f"{context.node.role} template must start with '#cloud-config'")
    return text
