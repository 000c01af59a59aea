"""The whole platform on the local cloud: `pulumi up` of the `lab` stack (stacks/lab.yaml)
with the real CLI, provider and program; an `up` interrupted with Ctrl-C is completed by the
next `up`; every server ACTIVE and every load balancer provisioned; a second preview changes
nothing; `pulumi destroy` leaves the project as it was.

The local cloud has no data plane (docs/lab.md): load balancers reach provisioning ACTIVE while
their operating status stays OFFLINE, since no amphora ever reports health.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from lab_cloud import project_residue, unique_name, wait_lb_active
from lab_stack import Stack, lab_stack_config, new_stack

from components.userdata import cloud_controller_load_balancer_prefix
from ops.roll import roll

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning"),
]


# Resources created before the first `up` is interrupted: past the network, into the servers
# and load balancers (the platform is ~130).
CREATED_BEFORE_INTERRUPT = 40


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The lab stack after an `up` interrupted with SIGINT and a second `up` that completes it.
    The last test destroys it; should a test before it fail, the stack is destroyed here all
    the same."""
    stack = new_stack(
        tmp_path_factory.mktemp("lab-stack"), unique_name("stack"), lab_stack_config()
    )
    try:
        stack.interruption = stack.interrupted_up(after_created=CREATED_BEFORE_INTERRUPT)
        stack.must("up", "--yes", "--skip-preview")
        yield stack
    finally:
        if stack.resource_count():
            stack.destroy()


def _named(resources: Any, stack: Stack) -> list[Any]:
    prefix = f"paasmas-{stack.name}-"
    return [r for r in resources if (r.name or "").startswith(prefix)]


def test_an_interrupted_up_stops_cleanly_and_the_next_up_completes_it(stack: Stack) -> None:
    interrupted = stack.interruption
    assert interrupted is not None
    tail = interrupted.output[-4000:]
    assert interrupted.returncode != 0, tail
    # Ctrl-C lets the operations in flight finish and records them: nothing half-done.
    assert interrupted.pending_operations == [], tail
    complete = stack.resource_count()
    assert CREATED_BEFORE_INTERRUPT <= interrupted.resources_in_state < complete, tail
    # The second `up` created only what was missing.
    second = stack.run("stack", "history", "--json")
    assert second.returncode == 0, second.stderr
    latest = json.loads(second.stdout)[0]
    assert latest["result"] == "succeeded"
    created = latest["resourceChanges"]["create"]
    assert created == complete - interrupted.resources_in_state, latest["resourceChanges"]


def test_up_brings_every_server_active_at_the_addresses_it_reports(
    cloud: Any, stack: Stack
) -> None:
    outputs = stack.outputs()
    servers = _named(cloud.compute.servers(), stack)
    reported = sorted(ip for ips in outputs["node_ips"].values() for ip in ips)
    assert len(servers) == len(reported) >= 8
    assert {s.name: s.status for s in servers} == {s.name: "ACTIVE" for s in servers}
    addresses = sorted(
        a["addr"]
        for s in servers
        for net in s.addresses.values()
        for a in net
        if a.get("OS-EXT-IPS:type", "fixed") == "fixed"
    )
    assert addresses == reported
    volumes = _named(cloud.block_storage.volumes(), stack)
    assert volumes and all(v.status == "in-use" for v in volumes), [
        (v.name, v.status) for v in volumes
    ]


def test_up_provisions_every_load_balancer_and_the_addresses_point_at_them(
    cloud: Any, stack: Stack
) -> None:
    outputs = stack.outputs()
    lbs = _named(cloud.load_balancer.load_balancers(), stack)
    assert len(lbs) >= 2
    for lb in lbs:
        assert lb.provisioning_status == "ACTIVE", lb.name
        for listener in cloud.load_balancer.listeners(load_balancer_id=lb.id):
            assert listener.provisioning_status == "ACTIVE", listener.name
        for pool in cloud.load_balancer.pools(loadbalancer_id=lb.id):
            assert pool.provisioning_status == "ACTIVE", pool.name
            members = list(cloud.load_balancer.members(pool))
            assert members and all(m.provisioning_status == "ACTIVE" for m in members)
            if pool.health_monitor_id:
                monitor = cloud.load_balancer.get_health_monitor(pool.health_monitor_id)
                assert monitor.provisioning_status == "ACTIVE"
    vips = {lb.vip_address for lb in lbs}
    assert outputs["database_host"] in vips
    # The platform's public address is a floating IP on a load balancer's VIP port.
    floating = {ip.floating_ip_address: ip for ip in cloud.network.ips()}
    assert floating[outputs["paas_lb_address"]].port_id in {lb.vip_port_id for lb in lbs}


def test_a_second_preview_changes_nothing(stack: Stack) -> None:
    stack.must("preview", "--expect-no-changes")


def _latest_changes(stack: Stack) -> dict[str, int]:
    history = stack.run("stack", "history", "--json")
    assert history.returncode == 0, history.stderr
    changes: dict[str, int] = json.loads(history.stdout)[0]["resourceChanges"]
    return changes


def test_a_user_data_change_replaces_nothing_and_a_roll_replaces_one_node(
    cloud: Any, stack: Stack
) -> None:
    """Day two: a proxy setting changes every node's user data. Before, one `up` replaced the
    bastion, all three PaaS nodes at once and Jenkins; now it replaces nothing, and `make roll`
    (ops/roll.py) replaces exactly one node, on its own port, with the new user data."""
    servers = {s.name: s.id for s in _named(cloud.compute.servers(), stack)}
    ports = {p.name: p.id for p in _named(cloud.network.ports(), stack)}
    stack.must("config", "set", "--path", "paasmas:downloads.http_proxy",
               "http://proxy.example:3128")
    stack.must("up", "--yes", "--skip-preview")
    changes = _latest_changes(stack)
    assert not {k: v for k, v in changes.items() if k != "same" and v}, changes
    assert {s.name: s.id for s in _named(cloud.compute.servers(), stack)} == servers

    rolled = f"paasmas-{stack.name}-paas-1"
    roll(stack.name, rolled, cwd=stack.project, env=stack.env, pulumi=stack.pulumi)
    after = {s.name: s.id for s in _named(cloud.compute.servers(), stack)}
    assert after.keys() == servers.keys()
    assert [n for n in after if after[n] != servers[n]] == [rolled]
    assert {p.name: p.id for p in _named(cloud.network.ports(), stack)} == ports
    exported = json.loads(stack.must("stack", "export", "--show-secrets"))
    user_data = {r["outputs"]["name"]: r["inputs"].get("userData", "")
                 for r in exported["deployment"]["resources"]
                 if r["type"] == "openstack:compute/instance:Instance"}
    assert "proxy.example:3128" in str(user_data[rolled])
    assert "proxy.example:3128" not in str(user_data[f"paasmas-{stack.name}-paas-0"])
    stack.must("preview", "--expect-no-changes")


def test_a_server_deleted_behind_the_stacks_back_comes_back_with_the_next_up(
    cloud: Any, stack: Stack
) -> None:
    """`make up` refreshes first (`pulumi up --refresh`): a PaaS node deleted in the dashboard is
    seen and recreated on its own port and address; nothing else changes. Without the refresh
    the state still lists the server and the `up` reports nothing to do."""
    name = f"paasmas-{stack.name}-paas-1"
    (server,) = [s for s in cloud.compute.servers() if s.name == name]
    address = stack.outputs()["node_ips"]["paas"][1]
    cloud.compute.delete_server(server)
    cloud.compute.wait_for_delete(server, wait=120)
    stack.must("up", "--yes", "--skip-preview", "--refresh")
    changes = _latest_changes(stack)
    assert changes.get("create") == 1, changes
    assert not {k: v for k, v in changes.items() if k not in ("create", "same") and v}, changes
    (again,) = [s for s in cloud.compute.servers() if s.name == name]
    assert again.id != server.id and again.status == "ACTIVE"
    assert address in {a["addr"] for net in again.addresses.values() for a in net}
    stack.must("preview", "--expect-no-changes")


def test_destroy_leaves_nothing_of_the_stack_in_the_project(cloud: Any, stack: Stack) -> None:
    """Last in this module. Before it, a load balancer with a floating IP is made the way the
    cluster's OpenStack cloud controller makes one for an app (outside the stack's state, named
    `kube_service_<cluster>_<namespace>_<service>`, VIP in the tenant subnet): destroy must
    remove it too, or the subnet could not be deleted. Checked by the ids the state recorded and
    by the stack's name prefix, so that what other tests make in the project at the same time
    does not count; the port entries name their device, so a port a server or load balancer
    made is caught too."""
    outputs = stack.outputs()
    app_lb = cloud.load_balancer.create_load_balancer(
        name=f"{cloud_controller_load_balancer_prefix(f'paasmas-{stack.name}')}default_web",
        vip_subnet_id=outputs["subnet_id"])
    wait_lb_active(cloud, app_lb.id)
    public = cloud.network.find_network("public")
    app_fip = cloud.network.create_ip(floating_network_id=public.id, port_id=app_lb.vip_port_id)
    ids = stack.cloud_ids()
    assert len(ids) > 50  # the platform is ~100 OpenStack resources
    assert any(stack.name in r for r in project_residue(cloud))  # the check sees the stack
    stack.destroy()
    assert stack.resource_count() == 0
    left = [
        r
        for r in project_residue(cloud)
        if f"paasmas-{stack.name}-" in r or any(i in r for i in ids)
    ]
    assert not left, f"left behind by pulumi destroy: {left}"
    assert cloud.load_balancer.find_load_balancer(app_lb.id) is None
    assert cloud.network.find_ip(app_fip.id) is None
