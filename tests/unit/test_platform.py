"""The resource graph under Pulumi mocks: counts, placement, least privilege, secrets, outputs."""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

import pytest
import yaml

from components import outputs as out
from tests.unit.harness import (
    ProgramRun,
    Recorded,
    RecordedOptions,
    run_program,
    stack_values,
    with_changes,
)

pytestmark = pytest.mark.unit

LAB = stack_values("lab")

# The flows the platform needs (README "Security groups"), as (group, protocol, port, source).
# A source is another group's name or a CIDR; "subnet" is the tenant subnet (Octavia's members
# side). Anything the program creates beyond this list is a test failure.
OPERATORS = "172.24.4.0/24"  # lab stack ssh_allowed_cidrs and jenkins.allowed_cidrs
ALLOWED_FLOWS = {
    ("bastion", "tcp", 22, OPERATORS),
    *{(g, "tcp", 22, "bastion") for g in ("paas", "jenkins", "database", "db-lb")},
    *{("paas", "tcp", 2379, g) for g in ("paas", "database", "db-lb")},
    ("paas", "tcp", 2380, "paas"),
    ("paas", "tcp", 6443, "paas"),
    ("paas", "tcp", 10250, "paas"),
    ("paas", "udp", 8472, "paas"),
    *{("paas", "tcp", p, "10.20.0.0/24") for p in (30080, 30443, 32222)},
    *{("paas-lb", "tcp", p, "0.0.0.0/0") for p in (80, 443, 2222)},
    *{("paas-lb", "tcp", p, "jenkins") for p in (80, 443, 2222)},
    ("jenkins", "tcp", 8080, OPERATORS),
    *{("database", "tcp", p, "database") for p in (3306, 4444, 4567, 4568, 9200)},
    *{("database", "tcp", 3306, g) for g in ("paas", "jenkins", "db-lb")},
    ("database", "tcp", 9200, "db-lb"),
    *{("database", "tcp", p, "10.20.0.0/24") for p in (3306, 9200)},
    *{("db-lb", "tcp", 3306, g) for g in ("paas", "jenkins")},
}
PUBLIC_ENTRY_POINTS = {("paas-lb", 80), ("paas-lb", 443), ("paas-lb", 2222)}


@cache
def lab_run() -> ProgramRun:
    return run_program(LAB)


def servers(run: ProgramRun, role: str) -> list[Recorded]:
    found = [r for r in run.mocks.of_type("compute/instance:Instance")
             if r.inputs["metadata"]["role"] == role]
    return sorted(found, key=lambda r: int(r.inputs["metadata"]["index"]))


def resource_id(record: Recorded) -> str:
    return f"{record.name}-id"  # the mocks' ID scheme


def group_names(run: ProgramRun) -> dict[str, str]:
    """Security group ID -> role name."""
    return {resource_id(g): g.inputs["name"].removeprefix("paasmas-unit-")
            for g in run.mocks.of_type("networking/secGroup:SecGroup")}


def flows(run: ProgramRun) -> set[tuple[str, str, int, str]]:
    names = group_names(run)
    result = set()
    for rule in run.mocks.of_type("networking/secGroupRule:SecGroupRule"):
        i = rule.inputs
        assert i["direction"] == "ingress"
        assert i["portRangeMin"] == i["portRangeMax"]
        source = names[i["remoteGroupId"]] if i.get("remoteGroupId") else i["remoteIpPrefix"]
        result.add((names[i["securityGroupId"]], i["protocol"], i["portRangeMin"], source))
    return result


@pytest.mark.parametrize("size", [3, 5])
def test_resource_counts_per_role(size: int) -> None:
    run = run_program(with_changes(LAB, paas={"size": size}, database={"size": size}))
    roles = Counter(r.inputs["metadata"]["role"]
                    for r in run.mocks.of_type("compute/instance:Instance"))
    assert roles == {"bastion": 1, "paas": size, "database": size, "jenkins": 1}
    assert len(run.mocks.of_type("networking/port:Port")) == 2 * size + 2
    assert len(run.mocks.of_type("compute/serverGroup:ServerGroup")) == 4
    # a data volume (and its attachment) per database node and for Jenkins
    assert len(run.mocks.of_type("blockstorage/volume:Volume")) == size + 1
    assert len(run.mocks.of_type("compute/volumeAttach:VolumeAttach")) == size + 1
    # PaaS LB: 3 listeners x size members; database LB: 1 listener x size members
    assert len(run.mocks.of_type("loadbalancer/member:Member")) == 3 * size + size
    assert len(run.mocks.of_type("loadbalancer/loadBalancer:LoadBalancer")) == 2
    assert len(run.mocks.of_type("loadbalancer/monitor:Monitor")) == 4


def test_quorum_servers_are_in_their_roles_anti_affinity_group() -> None:
    run = lab_run()
    groups = {resource_id(g): g for g in run.mocks.of_type("compute/serverGroup:ServerGroup")}
    for role in ("paas", "database"):
        for server in servers(run, role):
            group = groups[server.inputs["schedulerHints"][0]["group"]]
            assert group.inputs["name"] == f"paasmas-unit-{role}"
            assert group.inputs["policies"] == "soft-anti-affinity"


def test_servers_attach_their_pre_created_ports() -> None:
    run = lab_run()
    ports = {resource_id(p): p for p in run.mocks.of_type("networking/port:Port")}
    for server in run.mocks.of_type("compute/instance:Instance"):
        (network,) = server.inputs["networks"]
        port = ports[network["port"]]
        assert port.inputs["name"] == f"{server.inputs['name']}-port"
        assert port.inputs["fixedIps"][0]["ipAddress"]  # planned before the server exists
        assert "securityGroups" not in server.inputs  # groups are set on ports


def test_fixed_ips_follow_the_plan_and_user_data_knows_the_peers() -> None:
    run = lab_run()
    assert run.outputs[out.NODE_IPS]["paas"] == ["10.20.0.20", "10.20.0.21", "10.20.0.22"]
    first = servers(run, "paas")[0].inputs["userData"]
    assert first.startswith("#cloud-config\n")
    assert ("paasmas-unit-paas-0=https://10.20.0.20:2380,"
            "paasmas-unit-paas-1=https://10.20.0.21:2380,"
            "paasmas-unit-paas-2=https://10.20.0.22:2380") in first
    db = yaml.safe_load(servers(run, "database")[1].inputs["userData"])
    env = next(f for f in db["write_files"] if f["path"] == "/etc/paasmas/database.env")
    assert "STATIC_PEERS=10.20.0.40,10.20.0.41,10.20.0.42" in env["content"]
    assert "ETCD_ENDPOINTS=https://10.20.0.20:2379" in env["content"]


def test_no_floating_ip_on_database_or_jenkins_nodes_by_default() -> None:
    run = lab_run()
    ports = {resource_id(p): p.inputs["name"] for p in run.mocks.of_type("networking/port:Port")}
    fips = run.mocks.of_type("networking/floatingIp:FloatingIp")
    attached = sorted(ports.get(f.inputs["portId"], f.inputs["portId"]) for f in fips)
    # the bastion's port and the PaaS load balancer's VIP port, nothing else
    assert attached == ["paasmas-unit-bastion-0-port", "port-paasmas-paas-lb-lb"]


def test_floating_ips_when_a_role_asks_for_them() -> None:
    run = run_program(with_changes(LAB, jenkins={"floating_ips": ["172.24.4.77"]}))
    (reuse,) = run.mocks.of_type("networking/floatingIpAssociate:FloatingIpAssociate")
    assert reuse.inputs["floatingIp"] == "172.24.4.77"
    assert run.outputs[out.JENKINS_URL] == "http://172.24.4.77:8080"


def test_security_rules_are_exactly_the_allow_list() -> None:
    assert flows(lab_run()) <= ALLOWED_FLOWS
    # and nothing the platform needs is missing (haproxy-only flows aside)
    haproxy_only = {f for f in ALLOWED_FLOWS if f[3] == "db-lb"} | {("db-lb", "tcp", 22, "bastion")}
    assert ALLOWED_FLOWS - haproxy_only == flows(lab_run())


def test_nothing_sensitive_is_open_to_the_internet() -> None:
    for group, _, port, source in flows(lab_run()):
        if source in ("0.0.0.0/0", "::/0"):
            assert (group, port) in PUBLIC_ENTRY_POINTS


def test_default_group_is_never_touched() -> None:
    run = lab_run()
    names = [g.inputs["name"] for g in run.mocks.of_type("networking/secGroup:SecGroup")]
    assert "default" not in names
    assert all(g.inputs.get("deleteDefaultRules") in (None, False)
               for g in run.mocks.of_type("networking/secGroup:SecGroup"))


def test_database_lb_members_are_the_database_nodes() -> None:
    run = lab_run()
    pools = {resource_id(p): p.inputs["name"]
             for p in run.mocks.of_type("loadbalancer/pool:Pool")}
    mysql = [m for m in run.mocks.of_type("loadbalancer/member:Member")
             if pools[m.inputs["poolId"]] == "paasmas-unit-database-mysql"]
    assert sorted(m.inputs["address"] for m in mysql) == run.outputs[out.NODE_IPS]["database"]
    assert {m.inputs["protocolPort"] for m in mysql} == {3306}
    assert {m.inputs["monitorPort"] for m in mysql} == {9200}
    monitors = run.mocks.of_type("loadbalancer/monitor:Monitor")
    (db_monitor,) = [m for m in monitors if pools[m.inputs["poolId"]].endswith("-mysql")]
    assert db_monitor.inputs["type"] == "HTTP"
    assert db_monitor.inputs["expectedCodes"] == "200"


def test_haproxy_mode_builds_haproxy_nodes_instead_of_an_octavia_lb() -> None:
    run = run_program(with_changes(
        LAB, database={"load_balancer": {"mode": "haproxy", "flavor": "paasmas.small"}}))
    assert len(run.mocks.of_type("loadbalancer/loadBalancer:LoadBalancer")) == 1  # PaaS only
    (lb_node,) = servers(run, "db-lb")
    assert run.outputs[out.NODE_IPS]["db-lb"] == ["10.20.0.50"]
    assert "STATIC_PEERS=10.20.0.40,10.20.0.41,10.20.0.42" in lb_node.inputs["userData"]
    # Clients use the VIP the HAProxy nodes hand between them, not a node's own address.
    assert run.outputs[out.DATABASE_HOST] == "10.20.0.59"
    assert "VIP_ADDRESS=10.20.0.59\n" in lb_node.inputs["userData"]
    assert "VIP_PREFIX_LEN=24\n" in lb_node.inputs["userData"]


def test_haproxy_nodes_may_answer_for_the_database_vip_their_own_port_reserves() -> None:
    run = run_program(with_changes(LAB, database={
        "load_balancer": {"mode": "haproxy", "flavor": "paasmas.small", "size": 2}}))
    ports = {p.name: p.inputs for p in run.mocks.of_type("networking/port:Port")}
    vip = ports["paasmas-database-vip"]
    assert vip["fixedIps"][0]["ipAddress"] == "10.20.0.59"
    assert "deviceId" not in vip  # reserved, attached to no server
    lb_ports = [inputs for name, inputs in ports.items() if "-lb-nodes-port-" in name]
    assert len(lb_ports) == 2
    for inputs in lb_ports:
        assert inputs["allowedAddressPairs"] == [{"ipAddress": "10.20.0.59"}]
    others = [inputs for name, inputs in ports.items()
              if name != "paasmas-database-vip" and "-lb-nodes-port-" not in name]
    assert others and not any(inputs.get("allowedAddressPairs") for inputs in others)
    assert run.outputs[out.DATABASE_HOST] == "10.20.0.59"
    assert ("db-lb", "tcp", 22, "bastion") in flows(run)
    assert ("database", "tcp", 9200, "db-lb") in flows(run)
    # the host checks' login through the load balancer, from the database nodes' mysql client
    assert ("db-lb", "tcp", 3306, "database") in flows(run)
    assert ("db-lb", "tcp", 3306, "database") not in flows(lab_run())
    assert not any(f[3] == "10.20.0.0/24" and f[0] == "database" for f in flows(run))


def test_existing_network_is_looked_up_not_created() -> None:
    run = run_program(with_changes(
        LAB, network={"cidr": None, "existing": {"network": "shared", "subnet": "shared-v4"}}))
    for kind in ("networking/network:Network", "networking/subnet:Subnet",
                 "networking/router:Router"):
        assert not run.mocks.of_type(kind)
    ports = run.mocks.of_type("networking/port:Port")
    assert all("ipAddress" not in p.inputs["fixedIps"][0] for p in ports)
    assert run.outputs[out.NETWORK_ID] == "net-shared"
    # Octavia's member-side rules name the looked-up subnet's CIDR
    assert ("paas", "tcp", 30080, "10.50.0.0/24") in flows(run)


def test_secrets_are_secret_in_the_outputs() -> None:
    run = lab_run()
    assert run.secret_outputs == set(out.SECRET_OUTPUTS)
    password = run.outputs[out.DATABASE_PASSWORD]
    assert len(password) >= 24
    public = {k: v for k, v in run.outputs.items() if k not in out.SECRET_OUTPUTS}
    assert password not in repr(public)


def test_output_contract_is_complete() -> None:
    run = lab_run()
    assert set(run.outputs) == out.ALL_OUTPUTS
    o: dict[str, Any] = run.outputs
    lb = o[out.PAAS_LB_ADDRESS]
    assert o[out.PAAS_DOMAIN] == f"{lb}.sslip.io"
    assert o[out.PAAS_CONTROLLER_URL] == f"http://drycc.{lb}.sslip.io"
    assert o[out.PAAS_BUILDER_REMOTE] == f"ssh://git@drycc-builder.{lb}.sslip.io:2222"
    assert o[out.DATABASE_PORT] == 3306
    assert o[out.ETCD_ENDPOINTS].count("https://") == 3
    assert o[out.APP_NAMES] == {"production": "ghost", "staging": "stage-ghost",
                                "pull_request_prefix": "pr-"}
    assert o[out.SSH_USER] == "core"
    assert o[out.BASTION_ADDRESS].startswith("172.24.4.")


def test_bastion_disabled_opens_ssh_from_operators_only() -> None:
    run = run_program(with_changes(LAB, bastion={"enabled": False, "flavor": None}))
    assert not servers(run, "bastion")
    assert run.outputs[out.BASTION_ADDRESS] is None
    assert ("paas", "tcp", 22, OPERATORS) in flows(run)
    assert not any(f[3] == "bastion" for f in flows(run))


def test_data_volumes_are_addressed_by_stable_device_path() -> None:
    run = lab_run()
    volumes = {v.inputs["name"]: resource_id(v)
               for v in run.mocks.of_type("blockstorage/volume:Volume")}
    for server in servers(run, "database") + servers(run, "jenkins"):
        volume_id = volumes[f"{server.inputs['name']}-data"]
        assert f"/dev/disk/by-id/virtio-{volume_id[:20]}" in server.inputs["userData"]


def test_user_data_carrying_secrets_is_secret() -> None:
    run = lab_run()
    for role in ("paas", "database", "jenkins"):
        for server in servers(run, role):
            assert "userData" in server.secret_inputs, (role, server.name)


def test_database_nodes_and_volumes_are_protected_and_keep_running_on_user_data_changes() -> None:
    run = lab_run()
    for record in servers(run, "database"):
        assert run.options[record.name] == RecordedOptions(True, ("userData",))
    for volume in run.mocks.of_type("blockstorage/volume:Volume"):
        expected = volume.inputs["metadata"]["role"] == "database"
        assert run.options[volume.name].protect is expected


@pytest.mark.parametrize("role", ["bastion", "paas", "jenkins"])
def test_no_node_is_replaced_by_a_user_data_change_alone(role: str) -> None:
    """A version pin or a proxy setting changes every node's user data: no server takes it
    implicitly (the whole PaaS control plane would go at once); `make roll` replaces one."""
    run = lab_run()
    records = servers(run, role)
    assert records
    for record in records:
        assert run.options[record.name] == RecordedOptions(False, ("userData",))


def test_a_rolled_node_takes_its_current_user_data_and_only_it() -> None:
    run = run_program(LAB, rolling=frozenset({"paasmas-unit-paas-1"}))
    options = {r.inputs["name"]: run.options[r.name] for r in servers(run, "paas")}
    assert options == {"paasmas-unit-paas-0": RecordedOptions(False, ("userData",)),
                       "paasmas-unit-paas-1": RecordedOptions(False, ()),
                       "paasmas-unit-paas-2": RecordedOptions(False, ("userData",))}


def test_replace_on_user_data_change_is_explicit() -> None:
    run = run_program(with_changes(LAB, database={"replace_on_user_data_change": True}))
    for record in servers(run, "database"):
        assert run.options[record.name].ignore_changes == ()


def test_cloud_controller_gets_an_application_credential_and_a_cleanup_on_destroy() -> None:
    run = lab_run()
    (credential,) = run.mocks.of_type("identity/applicationCredential:ApplicationCredential")
    assert credential.inputs["name"] == "paasmas-unit-ccm"
    assert "secret" in credential.secret_inputs
    first = servers(run, "paas")[0].inputs["userData"]
    assert "auth-url=https://keystone.unit:5000/v3" in first
    assert f"application-credential-id={resource_id(credential)}" in first
    assert credential.inputs["secret"] in first  # the secret reaches the node, secretly
    assert "lb-provider=amphora" in first
    (cleanup,) = [r for r in run.mocks.resources if r.name.endswith("-ccm-cleanup")]
    assert cleanup.inputs["name_prefix"] == "kube_service_paasmas-unit_"
    assert cleanup.inputs["subnet_id"] == "paasmas-network-subnet-id"
    # later nodes carry no cloud controller: only the first node installs the platform
    assert "application-credential-id" not in servers(run, "paas")[1].inputs["userData"]


def test_without_a_dns_zone_no_records_are_made() -> None:
    assert lab_run().mocks.of_type("dns/recordSet:RecordSet") == []


def test_a_dns_zone_gets_the_domain_and_its_wildcard_at_the_platform_address() -> None:
    run = run_program(with_changes(LAB, paas={"dns_zone": "cloud.example.com.",
                                              "domain": "paas.cloud.example.com"}))
    records = {r.inputs["name"]: r.inputs for r in run.mocks.of_type("dns/recordSet:RecordSet")}
    assert set(records) == {"paas.cloud.example.com.", "*.paas.cloud.example.com."}
    address = run.outputs[out.PAAS_LB_ADDRESS]
    for record in records.values():
        assert record["zoneId"] == "zone-cloud.example.com."
        assert (record["type"], record["records"], record["ttl"]) == ("A", [address], 300)
    assert run.outputs[out.PAAS_DOMAIN] == "paas.cloud.example.com"
    assert run.outputs[out.PAAS_CONTROLLER_URL] == "http://drycc.paas.cloud.example.com"
    first = servers(run, "paas")[0].inputs["userData"]
    assert "paas.cloud.example.com" in first
