"""Our bridged pulumi-resource-openstack on the real engine and the local cloud (docs/toolchain.md).

Pulumi programs using the pinned Python SDK: first a network, an autonamed subnet with an
allocation pool, a security group with a rule, and the network read back through a function
(invoke); then the other kinds the platform uses (keypair, server group, port, server booted from
the lab's image, volume and its attachment, load balancer with listener, pool, member and
monitor), which must show no changes after a refresh. Each object is checked in the cloud with
openstacksdk; the stacks are destroyed and the test checks that nothing is left.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import openstack
import openstack.connection
import pytest
from engine_toolchain import Toolchain, require_plugin, up, write_project

pytestmark = [
    pytest.mark.engine,
    # openstacksdk warns about its own deprecated options when it builds a connection
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning"),
]

CLOUD = "paasmas-lab"
DEFAULT_CLOUDS_YAML = Path("/var/lib/paasmas-lab/clouds.yaml")

PROGRAM = """
import pulumi
import pulumi_openstack as openstack

prefix = pulumi.Config().require("prefix")
network = openstack.networking.Network(
    "network", name=f"{prefix}-net", admin_state_up=True, description="engine test"
)
# No name: the plugin's autonaming derives it from the resource name.
subnet = openstack.networking.Subnet(
    f"{prefix}-subnet",
    network_id=network.id,
    cidr="10.251.7.0/24",
    ip_version=4,
    allocation_pools=[
        openstack.networking.SubnetAllocationPoolArgs(start="10.251.7.10", end="10.251.7.50")
    ],
    dns_nameservers=["10.251.7.2"],
)
group = openstack.networking.SecGroup("group", name=f"{prefix}-sg", description="engine test")
rule = openstack.networking.SecGroupRule(
    "ssh",
    security_group_id=group.id,
    direction="ingress",
    ethertype="IPv4",
    protocol="tcp",
    port_range_min=22,
    port_range_max=22,
    remote_ip_prefix="10.251.0.0/16",
)
found = openstack.networking.get_network_output(name=network.name)
pulumi.export("network_id", network.id)
pulumi.export("subnet_id", subnet.id)
pulumi.export("subnet_name", subnet.name)
pulumi.export("subnet_pools", subnet.allocation_pools)
pulumi.export("group_id", group.id)
pulumi.export("rule_id", rule.id)
pulumi.export("found_id", found.id)
"""

COMPUTE_PROGRAM = """
import pulumi
import pulumi_openstack as openstack

prefix = pulumi.Config().require("prefix")
network = openstack.networking.Network("network", name=f"{prefix}-net")
subnet = openstack.networking.Subnet(
    "subnet", name=f"{prefix}-sub", network_id=network.id, cidr="10.252.1.0/24"
)
image = openstack.images.get_image_output(name="flatcar-stable", most_recent=True)
keypair = openstack.compute.Keypair("keypair", name=f"{prefix}-kp")
group = openstack.compute.ServerGroup(
    "group", name=f"{prefix}-group", policies="soft-anti-affinity"
)
port = openstack.networking.Port(
    "port",
    name=f"{prefix}-port",
    network_id=network.id,
    fixed_ips=[openstack.networking.PortFixedIpArgs(subnet_id=subnet.id)],
)
server = openstack.compute.Instance(
    "server",
    name=f"{prefix}-vm",
    flavor_name="paasmas.small",
    image_id=image.id,
    key_pair=keypair.name,
    networks=[openstack.compute.InstanceNetworkArgs(port=port.id)],
    scheduler_hints=[openstack.compute.InstanceSchedulerHintArgs(group=group.id)],
    user_data="#cloud-config\\n",
)
volume = openstack.blockstorage.Volume("volume", name=f"{prefix}-vol", size=1)
attach = openstack.compute.VolumeAttach("attach", instance_id=server.id, volume_id=volume.id)
lb = openstack.loadbalancer.LoadBalancer("lb", name=f"{prefix}-lb", vip_subnet_id=subnet.id)
listener = openstack.loadbalancer.Listener(
    "listener", loadbalancer_id=lb.id, protocol="TCP", protocol_port=80
)
pool = openstack.loadbalancer.Pool(
    "pool", listener_id=listener.id, protocol="TCP", lb_method="ROUND_ROBIN"
)
member = openstack.loadbalancer.Member(
    "member", pool_id=pool.id, address=port.all_fixed_ips[0], protocol_port=80,
    subnet_id=subnet.id,
)
monitor = openstack.loadbalancer.Monitor(
    "monitor", pool_id=pool.id, type="TCP", delay=5, timeout=3, max_retries=3
)
pulumi.export("server_id", server.id)
pulumi.export("server_address", server.access_ip_v4)
pulumi.export("port_address", port.all_fixed_ips[0])
pulumi.export("group_id", group.id)
pulumi.export("private_key", keypair.private_key)
pulumi.export("volume_id", volume.id)
pulumi.export("attach_device", attach.device)
pulumi.export("lb_id", lb.id)
pulumi.export("pool_id", pool.id)
pulumi.export("member_id", member.id)
pulumi.export("network_id", network.id)
"""


def clouds_yaml() -> Path:
    """The clouds.yaml `make lab-up` wrote (mk/lab.mk exports OS_CLIENT_CONFIG_FILE)."""
    return Path(os.environ.get("OS_CLIENT_CONFIG_FILE", str(DEFAULT_CLOUDS_YAML)))


@pytest.fixture()
def lab() -> Any:
    path = clouds_yaml()
    if not path.is_file():
        pytest.skip(reason=f"the local cloud is not up ({path} missing): run `make lab-up`")
    config = openstack.config.OpenStackConfig(config_files=[str(path)])
    conn = openstack.connection.Connection(config=config.get_one(cloud=CLOUD))
    try:
        conn.identity.get_token()
    except Exception as err:  # any failure: the cloud is not answering
        conn.close()
        pytest.skip(reason=f"the local cloud does not answer ({err}): run `make lab-up`")
    yield conn
    conn.close()


def test_network_subnet_secgroup_on_the_lab_cloud(
    toolchain: Toolchain, stack_env: dict[str, str], lab: Any, tmp_path: Path
) -> None:
    require_plugin(toolchain, "openstack")
    prefix = f"enginetest-{uuid.uuid4().hex[:6]}"
    env = {**stack_env, "OS_CLIENT_CONFIG_FILE": str(clouds_yaml())}
    project = write_project(tmp_path / "project", PROGRAM)
    config = {"prefix": prefix, "openstack:cloud": CLOUD}

    with up(toolchain, project, env, config) as outputs:
        network = lab.network.get_network(outputs["network_id"])
        assert network.name == f"{prefix}-net"
        assert network.description == "engine test"
        assert outputs["found_id"] == network.id, "the invoke found another network"

        subnet = lab.network.get_subnet(outputs["subnet_id"])
        assert subnet.network_id == network.id
        assert subnet.cidr == "10.251.7.0/24"
        assert subnet.allocation_pools == [{"start": "10.251.7.10", "end": "10.251.7.50"}]
        assert subnet.dns_nameservers == ["10.251.7.2"]
        assert subnet.name == outputs["subnet_name"]
        assert subnet.name.startswith(f"{prefix}-subnet-"), subnet.name
        assert outputs["subnet_pools"] == [{"start": "10.251.7.10", "end": "10.251.7.50"}]

        group = lab.network.get_security_group(outputs["group_id"])
        assert group.name == f"{prefix}-sg"
        rules = [r for r in group.security_group_rules if r["id"] == outputs["rule_id"]]
        assert len(rules) == 1, group.security_group_rules
        assert (rules[0]["direction"], rules[0]["protocol"]) == ("ingress", "tcp")
        assert (rules[0]["port_range_min"], rules[0]["port_range_max"]) == (22, 22)
        assert rules[0]["remote_ip_prefix"] == "10.251.0.0/16"

    assert lab.network.find_network(outputs["network_id"]) is None
    assert lab.network.find_subnet(outputs["subnet_id"]) is None
    assert lab.network.find_security_group(outputs["group_id"]) is None


def test_compute_volume_and_load_balancer_on_the_lab_cloud(
    toolchain: Toolchain, stack_env: dict[str, str], lab: Any, tmp_path: Path
) -> None:
    require_plugin(toolchain, "openstack")
    prefix = f"enginetest-{uuid.uuid4().hex[:6]}"
    env = {**stack_env, "OS_CLIENT_CONFIG_FILE": str(clouds_yaml())}
    project = write_project(tmp_path / "project", COMPUTE_PROGRAM)
    config = {"prefix": prefix, "openstack:cloud": CLOUD}

    with up(toolchain, project, env, config) as outputs:
        server = lab.compute.get_server(outputs["server_id"])
        assert server.status == "ACTIVE"
        assert server.name == f"{prefix}-vm"
        assert outputs["server_address"] == outputs["port_address"]
        assert server.id in lab.compute.get_server_group(outputs["group_id"]).member_ids
        assert outputs["private_key"] == "[secret]", "the keypair's private key is not secret"

        volume = lab.block_storage.get_volume(outputs["volume_id"])
        assert [a["server_id"] for a in volume.attachments] == [server.id]
        assert outputs["attach_device"]

        lb = lab.load_balancer.get_load_balancer(outputs["lb_id"])
        assert lb.provisioning_status == "ACTIVE"
        member = lab.load_balancer.get_member(outputs["member_id"], outputs["pool_id"])
        assert member.address == outputs["port_address"]

        # The plugin reads back what it wrote: no changes after a refresh.
        toolchain.run(
            "refresh", "--yes", "--skip-preview", "--non-interactive", cwd=project, env=env
        )
        toolchain.run("preview", "--expect-no-changes", "--non-interactive", cwd=project, env=env)

    assert lab.compute.find_server(outputs["server_id"]) is None
    assert lab.block_storage.find_volume(outputs["volume_id"]) is None
    assert lab.load_balancer.find_load_balancer(outputs["lb_id"]) is None
    assert lab.network.find_network(outputs["network_id"]) is None
