"""The local OpenStack cloud itself (make lab-up): what the platform needs works through the real
APIs as the project's member user, and everything made here is removed again.

What this cloud cannot show (docs/lab.md): no data plane, so floating IPs stay DOWN and load
balancers stay OFFLINE; "ACTIVE" below is the provisioning status.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from lab_cloud import (
    COMPUTE_HOSTS,
    FLAVORS,
    IMAGE,
    PUBLIC_CIDR_PREFIX,
    PUBLIC_NETWORK,
    project_residue,
    unique_name,
    wait_lb_active,
    wait_until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("clean_project"),
    # openstacksdk's pending deprecations are about its own internals (it calls the deprecated
    # code itself), not about anything these tests do.
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning"),
]

TENANT_CIDR = "10.99.0.0/24"


@dataclass(frozen=True)
class TenantNetwork:
    network: Any
    subnet: Any
    router: Any
    public: Any


@pytest.fixture(scope="module")
def tenant(cloud: Any) -> Iterator[TenantNetwork]:
    """A network, subnet and router with its gateway on `public`, removed afterwards."""
    public = cloud.network.find_network(PUBLIC_NETWORK)
    assert public is not None, "external network `public` missing"
    with ExitStack() as cleanup:
        net = cloud.network.create_network(name=unique_name("net"))
        cleanup.callback(cloud.network.delete_network, net)
        subnet = cloud.network.create_subnet(
            name=unique_name("subnet"), network_id=net.id, ip_version=4, cidr=TENANT_CIDR
        )
        cleanup.callback(cloud.network.delete_subnet, subnet)
        router = cloud.network.create_router(
            name=unique_name("router"), external_gateway_info={"network_id": public.id}
        )
        cleanup.callback(cloud.network.delete_router, router)
        cloud.network.add_interface_to_router(router, subnet_id=subnet.id)
        cleanup.callback(cloud.network.remove_interface_from_router, router, subnet_id=subnet.id)
        yield TenantNetwork(net, subnet, cloud.network.get_router(router.id), public)


@pytest.mark.parametrize(
    "service_type",
    ["identity", "compute", "network", "image", "block-storage", "load-balancer", "placement"],
)
def test_every_api_answers_as_the_member_user(cloud: Any, service_type: str) -> None:
    endpoint = cloud.endpoint_for(service_type)
    assert endpoint and endpoint.startswith("http://127.0.0.1:"), endpoint
    # An authenticated, versioned call each; placement is admin-only, so its version document.
    calls = {
        "identity": lambda: [cloud.identity.get_project(cloud.current_project_id)],
        "compute": lambda: list(cloud.compute.flavors()),
        "network": lambda: list(cloud.network.networks()),
        "image": lambda: list(cloud.image.images()),
        "block-storage": lambda: list(cloud.block_storage.types()),
        "load-balancer": lambda: list(cloud.load_balancer.providers()),
        "placement": lambda: [cloud.placement.get("/").json()],
    }
    assert calls[service_type]()  # type: ignore[no-untyped-call]


def test_stack_prerequisites_exist(cloud: Any) -> None:
    assert cloud.current_project.name == "paasmas"
    public = cloud.network.find_network(PUBLIC_NETWORK)
    assert public is not None and public.is_router_external
    flavors = {f.name: f for f in cloud.compute.flavors()}
    assert (flavors["paasmas.small"].vcpus, flavors["paasmas.small"].ram) == (1, 1024)
    assert (flavors["paasmas.medium"].vcpus, flavors["paasmas.medium"].ram) == (2, 4096)
    assert (flavors["paasmas.large"].vcpus, flavors["paasmas.large"].ram) == (4, 8192)
    assert set(FLAVORS) <= set(flavors)
    image = cloud.image.find_image(IMAGE)
    assert image is not None and image.status == "active"
    assert "amphora" in {p.name for p in cloud.load_balancer.providers()}
    compute = cloud.compute.get_quota_set(cloud.current_project_id)
    assert compute.instances >= 12 and compute.server_group_members >= 5
    quota = cloud.network.get_quota(cloud.current_project_id)
    assert quota.security_groups >= 10 and quota.security_group_rules >= 60
    assert cloud.block_storage.get_quota_set(cloud.current_project_id).volumes >= 15


def test_router_gateway_is_on_the_public_network(cloud: Any, tenant: TenantNetwork) -> None:
    router = tenant.router
    assert router.status == "ACTIVE"
    gateway = router.external_gateway_info
    assert gateway["network_id"] == tenant.public.id
    assert gateway["external_fixed_ips"][0]["ip_address"].startswith(PUBLIC_CIDR_PREFIX)
    interfaces = list(cloud.network.ports(device_id=router.id, network_id=tenant.network.id))
    assert [ip["ip_address"] for ip in interfaces[0].fixed_ips] == ["10.99.0.1"]


def test_port_with_a_security_group(cloud: Any, tenant: TenantNetwork) -> None:
    with ExitStack() as cleanup:
        group = cloud.network.create_security_group(name=unique_name("sg"))
        cleanup.callback(cloud.network.delete_security_group, group)
        rule = cloud.network.create_security_group_rule(
            security_group_id=group.id,
            direction="ingress",
            ethertype="IPv4",
            protocol="tcp",
            port_range_min=22,
            port_range_max=22,
            remote_ip_prefix="0.0.0.0/0",
        )
        port = cloud.network.create_port(
            name=unique_name("port"), network_id=tenant.network.id, security_group_ids=[group.id]
        )
        cleanup.callback(cloud.network.delete_port, port)
        assert cloud.network.get_port(port.id).security_group_ids == [group.id]
        rules = cloud.network.get_security_group(group.id).security_group_rules
        assert rule.id in {r["id"] for r in rules}
        address = ipaddress.ip_address(port.fixed_ips[0]["ip_address"])
        assert address in ipaddress.ip_network(TENANT_CIDR)


def _create_server(cloud: Any, tenant: TenantNetwork, cleanup: ExitStack, **extra: Any) -> Any:
    """A paasmas.small server from the image on the tenant network, deleted at cleanup."""
    flavor = cloud.compute.find_flavor("paasmas.small")
    image = cloud.image.find_image(IMAGE)
    server = cloud.compute.create_server(
        name=unique_name("server"),
        flavor_id=flavor.id,
        image_id=image.id,
        networks=[{"uuid": tenant.network.id}],
        **extra,
    )

    def delete() -> None:
        cloud.compute.delete_server(server)
        cloud.compute.wait_for_delete(server, wait=120)

    cleanup.callback(delete)
    return server


def _boot(cloud: Any, tenant: TenantNetwork, cleanup: ExitStack, **extra: Any) -> Any:
    server = _create_server(cloud, tenant, cleanup, **extra)
    return cloud.compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"], wait=120)


def test_servers_of_a_soft_anti_affinity_group_land_on_three_hosts(
    cloud: Any, tenant: TenantNetwork
) -> None:
    with ExitStack() as cleanup:
        group = cloud.compute.create_server_group(
            name=unique_name("group"), policy="soft-anti-affinity"
        )
        cleanup.callback(cloud.compute.delete_server_group, group)
        # One after another: the spread of a soft policy is decided per boot.
        servers = [
            _boot(cloud, tenant, cleanup, scheduler_hints={"group": group.id})
            for _ in range(COMPUTE_HOSTS)
        ]
        assert all(s.status == "ACTIVE" for s in servers)
        assert len({s.host_id for s in servers}) == COMPUTE_HOSTS
        assert set(cloud.compute.get_server_group(group.id).member_ids) == {s.id for s in servers}
        ports = list(cloud.network.ports(device_id=servers[0].id))
        assert [p.status for p in ports] == ["ACTIVE"]


def test_a_hard_anti_affinity_group_holds_three_and_refuses_a_fourth(
    cloud: Any, tenant: TenantNetwork
) -> None:
    """The scheduler is Nova's own: three fake hosts, so a fourth member has no valid host."""
    with ExitStack() as cleanup:
        group = cloud.compute.create_server_group(name=unique_name("group"), policy="anti-affinity")
        cleanup.callback(cloud.compute.delete_server_group, group)
        hints = {"group": group.id}
        servers = [_boot(cloud, tenant, cleanup, scheduler_hints=hints) for _ in range(3)]
        assert len({s.host_id for s in servers}) == COMPUTE_HOSTS
        fourth = _create_server(cloud, tenant, cleanup, scheduler_hints=hints)
        fourth = cloud.compute.wait_for_server(
            fourth, status="ERROR", failures=["ACTIVE"], wait=120
        )
        assert "No valid host" in fourth.fault["message"]


def test_volume_attach_and_detach(cloud: Any, tenant: TenantNetwork) -> None:
    with ExitStack() as cleanup:
        server = _boot(cloud, tenant, cleanup)
        volume = cloud.block_storage.create_volume(name=unique_name("volume"), size=1)

        def delete_volume() -> None:
            cloud.block_storage.delete_volume(volume)
            cloud.block_storage.wait_for_delete(volume, wait=60)

        cleanup.callback(delete_volume)
        cloud.block_storage.wait_for_status(volume, "available", failures=["error"], wait=60)
        cloud.compute.create_volume_attachment(server, volume_id=volume.id)
        cloud.block_storage.wait_for_status(volume, "in-use", failures=["error"], wait=60)
        attached = cloud.block_storage.get_volume(volume.id).attachments
        assert [a["server_id"] for a in attached] == [server.id]
        cloud.compute.delete_volume_attachment(server, volume.id)
        cloud.block_storage.wait_for_status(volume, "available", failures=["error"], wait=60)
        assert cloud.block_storage.get_volume(volume.id).attachments == []


def test_server_boots_from_an_image_backed_volume(cloud: Any, tenant: TenantNetwork) -> None:
    """What a role with `boot_volume_size` asks for: Cinder makes the volume from the image."""
    flavor = cloud.compute.find_flavor("paasmas.small")
    image = cloud.image.find_image(IMAGE)
    with ExitStack() as cleanup:
        server = cloud.compute.create_server(
            name=unique_name("bfv"),
            flavor_id=flavor.id,
            networks=[{"uuid": tenant.network.id}],
            block_device_mapping=[
                {
                    "uuid": image.id,
                    "source_type": "image",
                    "destination_type": "volume",
                    "volume_size": 2,
                    "boot_index": 0,
                    "delete_on_termination": True,
                }
            ],
        )

        def delete() -> None:
            cloud.compute.delete_server(server)
            cloud.compute.wait_for_delete(server, wait=120)

        cleanup.callback(delete)
        server = cloud.compute.wait_for_server(server, failures=["ERROR"], wait=180)
        [attached] = server.attached_volumes
        volume = cloud.block_storage.get_volume(attached["id"])
        assert (volume.status, volume.is_bootable, volume.size) == ("in-use", True, 2)
    # delete_on_termination: the boot volume went with the server.
    wait_until(
        "boot volume deleted with its server",
        lambda: cloud.block_storage.find_volume(volume.id) is None,
        60,
    )


def test_member_user_makes_an_application_credential_that_authenticates(cloud: Any) -> None:
    """The platform hands the cloud controller manager an application credential."""
    import openstack

    user_id = cloud.current_user_id
    secret = unique_name("secret")
    credential = cloud.identity.create_application_credential(
        user=user_id, name=unique_name("appcred"), secret=secret
    )
    try:
        as_credential = openstack.connect(
            auth_type="v3applicationcredential",
            auth={
                "auth_url": cloud.endpoint_for("identity"),
                "application_credential_id": credential.id,
                "application_credential_secret": secret,
            },
            region_name="RegionOne",
        )
        assert as_credential.current_project_id == cloud.current_project_id
        assert {f.name for f in as_credential.compute.flavors()} >= set(FLAVORS)
        as_credential.close()
    finally:
        cloud.identity.delete_application_credential(user_id, credential)


def test_floating_ip_on_a_port(cloud: Any, tenant: TenantNetwork) -> None:
    with ExitStack() as cleanup:
        port = cloud.network.create_port(name=unique_name("port"), network_id=tenant.network.id)
        cleanup.callback(cloud.network.delete_port, port)
        fip = cloud.network.create_ip(
            floating_network_id=tenant.public.id,
            port_id=port.id,
            description=unique_name("fip"),
        )
        cleanup.callback(cloud.network.delete_ip, fip)
        fip = cloud.network.get_ip(fip.id)
        assert fip.floating_ip_address.startswith(PUBLIC_CIDR_PREFIX)
        assert fip.port_id == port.id
        assert fip.fixed_ip_address == port.fixed_ips[0]["ip_address"]
        assert fip.router_id == tenant.router.id


def test_load_balancer_reaches_active_and_its_vip_takes_a_floating_ip(
    cloud: Any, tenant: TenantNetwork
) -> None:
    lbs = cloud.load_balancer
    with ExitStack() as cleanup:
        lb = lbs.create_load_balancer(name=unique_name("lb"), vip_subnet_id=tenant.subnet.id)

        def delete_lb() -> None:
            lbs.delete_load_balancer(lb.id, cascade=True)
            wait_until("load balancer deleted", lambda: lbs.find_load_balancer(lb.id) is None)

        cleanup.callback(delete_lb)
        lb = wait_lb_active(cloud, lb.id)
        listener = lbs.create_listener(
            name=unique_name("listener"),
            protocol="TCP",
            protocol_port=3306,
            load_balancer_id=lb.id,
        )
        wait_lb_active(cloud, lb.id)
        pool = lbs.create_pool(
            name=unique_name("pool"),
            protocol="TCP",
            lb_algorithm="ROUND_ROBIN",
            listener_id=listener.id,
        )
        wait_lb_active(cloud, lb.id)
        member = lbs.create_member(
            pool,
            name=unique_name("member"),
            address="10.99.0.50",
            protocol_port=3306,
            subnet_id=tenant.subnet.id,
        )
        wait_lb_active(cloud, lb.id)
        monitor = lbs.create_health_monitor(
            name=unique_name("monitor"),
            pool_id=pool.id,
            type="HTTP",
            delay=5,
            timeout=3,
            max_retries=3,
            http_method="GET",
            url_path="/",
            expected_codes="200",
        )
        wait_lb_active(cloud, lb.id)
        assert lbs.get_listener(listener.id).provisioning_status == "ACTIVE"
        assert lbs.get_pool(pool.id).provisioning_status == "ACTIVE"
        assert lbs.get_member(member, pool).provisioning_status == "ACTIVE"
        assert lbs.get_health_monitor(monitor.id).provisioning_status == "ACTIVE"

        # The VIP is a real Neutron port on the tenant subnet, so a floating IP attaches to it.
        vip_port = cloud.network.get_port(lb.vip_port_id)
        assert vip_port.fixed_ips[0]["ip_address"] == lb.vip_address
        assert ipaddress.ip_address(lb.vip_address) in ipaddress.ip_network(TENANT_CIDR)
        fip = cloud.network.create_ip(
            floating_network_id=tenant.public.id,
            port_id=vip_port.id,
            description=unique_name("vip-fip"),
        )
        cleanup.callback(cloud.network.delete_ip, fip)
        assert cloud.network.get_ip(fip.id).fixed_ip_address == lb.vip_address

    # The cascade delete removed the VIP port with the load balancer.
    assert cloud.network.find_port(lb.vip_port_id) is None


def test_project_residue_sees_what_a_destroy_must_remove(cloud: Any, tenant: TenantNetwork) -> None:
    """The check the `pulumi destroy` test relies on: it reports each kind, not the router's
    own ports or the `default` group, and forgets what was deleted."""
    with ExitStack() as cleanup:
        group = cloud.network.create_security_group(name=unique_name("sg"))
        cleanup.callback(cloud.network.delete_security_group, group)
        port = cloud.network.create_port(name=unique_name("port"), network_id=tenant.network.id)
        cleanup.callback(cloud.network.delete_port, port)
        volume = cloud.block_storage.create_volume(name=unique_name("volume"), size=1)
        cleanup.callback(cloud.block_storage.wait_for_delete, volume, wait=60)
        cleanup.callback(cloud.block_storage.delete_volume, volume)
        cloud.block_storage.wait_for_status(volume, "available", failures=["error"], wait=60)
        residue = "\n".join(project_residue(cloud))
        for made in (group, port, volume, tenant.router, tenant.network):
            assert made.id in residue, made.name
        for router_port in cloud.network.ports(device_id=tenant.router.id):
            assert router_port.id not in residue
        assert "security group default " not in residue
    residue = "\n".join(project_residue(cloud))
    assert group.id not in residue and port.id not in residue and volume.id not in residue
