"""What the `lab` stack expects to find in the cloud, made idempotently with openstacksdk.

Identity (service users, catalog) comes first, as admin, once Keystone answers; the project,
quotas, external network, flavors and image follow once every API answers.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import LabError
from .lab_config import SERVICE_USERS, Secrets
from .paths import LabPaths
from .services import APIS, COMPUTE_HOSTS, KEYSTONE

PROJECT = "paasmas"
USER = "paasmas"
# `load-balancer_member` is how Zed's Octavia lets a project member use load balancers.
USER_ROLES = ("member", "load-balancer_member")
IMAGE = "flatcar-stable"
IMAGE_SIZE = 1024 * 1024  # a tiny raw disk: the fake hypervisor never reads it


@dataclass(frozen=True)
class Flavor:
    name: str
    vcpus: int
    ram_mib: int
    disk_gb: int


FLAVORS = (
    Flavor("paasmas.small", 1, 1024, 10),
    Flavor("paasmas.medium", 2, 4096, 20),
    Flavor("paasmas.large", 4, 8192, 40),
)
# The whole platform: ~12 servers, ~15 volumes, ~10 security groups, ~60 rules, several load
# balancers; with room for a second copy during tests.
COMPUTE_QUOTAS = {
    "instances": 40,
    "cores": 160,
    "ram": 320 * 1024,
    "key_pairs": 20,
    "server_groups": 20,
    "server_group_members": 20,
}
VOLUME_QUOTAS = {"volumes": 50, "gigabytes": 5000, "snapshots": 20, "backups": 20}
NETWORK_QUOTAS = {
    "network": 20,
    "subnet": 40,
    "port": 300,
    "router": 10,
    "floatingip": 40,
    "security_group": 40,
    "security_group_rule": 400,
}
LB_QUOTAS = {
    "load_balancers": 20,
    "listeners": 60,
    "pools": 60,
    "health_monitors": 60,
    "members": 300,
}
PUBLIC_NET = "public"
PUBLIC_SUBNET = "public-subnet"
PUBLIC_CIDR = "172.24.4.0/24"
PUBLIC_GATEWAY = "172.24.4.1"
PUBLIC_POOL = ("172.24.4.10", "172.24.4.250")


def connect(user: str, password: str, project: str) -> Any:
    import openstack  # Debian's python3-openstacksdk

    region = openstack.config.get_cloud_region(
        load_yaml_config=False,
        load_envvars=False,
        auth_type="password",
        auth={
            "auth_url": KEYSTONE.endpoint,
            "username": user,
            "password": password,
            "project_name": project,
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        },
        region_name="RegionOne",
        interface="public",
        identity_api_version="3",
    )
    return openstack.connection.Connection(config=region)


def admin(s: Secrets) -> Any:
    return connect("admin", s["admin"], "admin")


def wait_for(
    what: str, check: Callable[[], bool], timeout_s: float, service: str, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as e:  # the API may still be warming up
            last = e
        time.sleep(1.0)
    detail = f" (last error: {last})" if last else ""
    raise LabError(service, f"{what} not within {timeout_s:.0f} s{detail}", log)


class Identity:
    """Keystone as seen once (roles, users, grants), so that each check is not a request."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.roles = {r.name: r for r in conn.identity.roles()}
        self.users = {u.name: u for u in conn.identity.users(domain_id="default")}
        self.projects = {p.name: p for p in conn.identity.projects(domain_id="default")}
        self.grants = {
            (a.user["id"], a.role["id"], a.scope["project"]["id"])
            for a in conn.identity.role_assignments()
            if a.user and a.scope and "project" in a.scope
        }

    def role(self, name: str) -> Any:
        if name not in self.roles:
            self.roles[name] = self.conn.identity.create_role(name=name)
        return self.roles[name]

    def project(self, name: str, description: str) -> Any:
        if name not in self.projects:
            self.projects[name] = self.conn.identity.create_project(
                name=name, domain_id="default", description=description
            )
        return self.projects[name]

    def user(self, name: str, password: str, project: Any) -> Any:
        if name not in self.users:
            self.users[name] = self.conn.identity.create_user(
                name=name, password=password, domain_id="default", default_project_id=project.id
            )
        return self.users[name]

    def grant(self, role_name: str, user: Any, project: Any) -> None:
        role = self.role(role_name)
        if (user.id, role.id, project.id) not in self.grants:
            self.conn.identity.assign_project_role_to_user(project, user, role)
            self.grants.add((user.id, role.id, project.id))


def ensure_identity(conn: Any, s: Secrets) -> None:
    """Service project and users (with `admin` and `service` roles) and the service catalog."""
    keystone = Identity(conn)
    service_project = keystone.project("service", "OpenStack services of the lab")
    for name in SERVICE_USERS:
        user = keystone.user(name, s[name], service_project)
        keystone.grant("admin", user, service_project)
        # Nova's service token must carry `service`, or Cinder refuses a volume detach (409).
        keystone.grant("service", user, service_project)
    services = {svc.type: svc for svc in conn.identity.services()}
    endpoints = {(e.service_id, e.interface) for e in conn.identity.endpoints()}
    for api in APIS.values():
        if api is KEYSTONE:
            continue
        service = services.get(api.type) or conn.identity.create_service(
            name=api.service, type=api.type, is_enabled=True
        )
        for interface in ("public", "internal"):
            if (service.id, interface) not in endpoints:
                conn.identity.create_endpoint(
                    service_id=service.id,
                    interface=interface,
                    url=api.endpoint,
                    region_id="RegionOne",
                )


def ensure_compute_hosts(conn: Any, p: LabPaths, discover: Callable[[], None]) -> None:
    """All fake hypervisors registered, mapped to the cell and visible to the scheduler."""

    def computes_up() -> bool:
        up = {
            svc.host
            for svc in conn.compute.services(binary="nova-compute")
            if svc.state == "up" and svc.status == "enabled"
        }
        return up >= set(COMPUTE_HOSTS)

    wait_for(
        "three nova-compute services up",
        computes_up,
        180,
        "nova-compute",
        p.logfile(f"nova-compute-{COMPUTE_HOSTS[-1]}"),
    )

    def hypervisors() -> bool:
        names = {h.name for h in conn.compute.hypervisors()}
        if names >= set(COMPUTE_HOSTS):
            return True
        discover()
        return False

    wait_for("three hypervisors mapped", hypervisors, 120, "nova-api", p.logfile("nova-manage"))


def ensure_volume_service(conn: Any, p: LabPaths) -> None:
    def volume_up() -> bool:
        services = conn.block_storage.get("/os-services").json()["services"]
        return any(v["binary"] == "cinder-volume" and v["state"] == "up" for v in services)

    def scheduler_has_pool() -> bool:
        # A volume service that is up is not yet schedulable: the scheduler learns its pools
        # only from the service's periodic report, and refuses every volume until then.
        pools = conn.block_storage.get("/scheduler-stats/get_pools").json()["pools"]
        return bool(pools)

    wait_for(
        "cinder-volume service up", volume_up, 120, "cinder-volume", p.logfile("cinder-volume")
    )
    wait_for(
        "cinder-scheduler knows a volume pool",
        scheduler_has_pool,
        120,
        "cinder-scheduler",
        p.logfile("cinder-scheduler"),
    )


def ensure_lb_provider(conn: Any, p: LabPaths) -> None:
    names = {provider.name for provider in conn.load_balancer.providers()}
    if "amphora" not in names:
        raise LabError(
            "octavia-api",
            f"provider `amphora` not offered (found {names})",
            p.logfile("octavia-api"),
        )


def ensure_project(conn: Any, s: Secrets) -> None:
    """The project the stack runs in, its member user and raised quotas."""
    keystone = Identity(conn)
    project = keystone.project(PROJECT, "PaaSmas platform (lab stack)")
    user = keystone.user(USER, s[USER], project)
    for role_name in USER_ROLES:
        keystone.grant(role_name, user, project)
    conn.set_compute_quotas(project.id, **COMPUTE_QUOTAS)
    conn.set_volume_quotas(project.id, **VOLUME_QUOTAS)
    conn.set_network_quotas(project.id, **NETWORK_QUOTAS)
    conn.load_balancer.update_quota(project.id, **LB_QUOTAS)


def ensure_public_network(conn: Any) -> None:
    """External flat network `public` with a subnet that is the floating-IP pool."""
    net = conn.network.find_network(PUBLIC_NET)
    if net is None:
        net = conn.network.create_network(
            name=PUBLIC_NET,
            is_router_external=True,
            provider_network_type="flat",
            provider_physical_network="public",
            description="External network of the lab",
        )
    if conn.network.find_subnet(PUBLIC_SUBNET, network_id=net.id) is None:
        conn.network.create_subnet(
            name=PUBLIC_SUBNET,
            network_id=net.id,
            ip_version=4,
            cidr=PUBLIC_CIDR,
            gateway_ip=PUBLIC_GATEWAY,
            is_dhcp_enabled=False,
            allocation_pools=[{"start": PUBLIC_POOL[0], "end": PUBLIC_POOL[1]}],
        )


def ensure_flavors(conn: Any) -> None:
    existing = {f.name for f in conn.compute.flavors(is_public=None)}
    for f in FLAVORS:
        if f.name not in existing:
            conn.compute.create_flavor(
                name=f.name, vcpus=f.vcpus, ram=f.ram_mib, disk=f.disk_gb, is_public=True
            )


def ensure_image(conn: Any, p: LabPaths) -> None:
    image = conn.image.find_image(IMAGE)
    if image is not None and image.status == "active":
        return
    if image is not None:  # a half-made upload from an interrupted run
        conn.image.delete_image(image)
    disk = p.state / f"{IMAGE}.raw"
    disk.write_bytes(b"\0" * IMAGE_SIZE)
    conn.create_image(
        IMAGE,
        filename=str(disk),
        disk_format="raw",
        container_format="bare",
        visibility="public",
        wait=True,
        timeout=120,
        meta={"os_distro": "flatcar", "description": "tiny stand-in, never booted"},
    )
