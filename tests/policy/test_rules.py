"""Each policy rule called directly on resource objects built as the engine sends them."""

from __future__ import annotations

import base64
import gzip
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from components import roles
from components.outputs import DATABASE_PASSWORD, SECRET_OUTPUTS
from policy import rules
from tests.policy.fakes import UNKNOWN, resource, run_resource, run_stack

pytestmark = pytest.mark.policy

PINNED = "docker.io/percona/percona-xtradb-cluster:8.4.7-7.1@sha256:" + "5b" * 32


def group(name: str, gid: str | None = None) -> Any:
    return resource(rules.SEC_GROUP, name, {"name": name, "id": gid or UNKNOWN})


def rule(name: str, sg: Any, *, prefix: Any = None, remote_group: Any = None,
         port: float | None = 22, protocol: str | None = "tcp", direction: str = "ingress") -> Any:
    props = {"direction": direction, "protocol": protocol, "portRangeMin": port,
             "portRangeMax": port, "remoteIpPrefix": prefix, "remoteGroupId": remote_group,
             "securityGroupId": UNKNOWN}
    return resource(rules.SEC_GROUP_RULE, name, props, deps={"securityGroupId": [sg]})


def server(name: str, role: str, *, port: Any = None, server_group: Any = None,
           protect: bool = False, user_data: Any = None) -> Any:
    props: dict[str, Any] = {
        "name": name, "metadata": {"role": role, "index": name[-1], "stack": "test"},
        "networks": [{"port": UNKNOWN}], "schedulerHints": [{"group": UNKNOWN}],
    }
    if user_data is not None:
        props["userData"] = user_data
    deps = {"networks": [port] if port else [], "schedulerHints": [server_group] if server_group
            else []}
    return resource(rules.INSTANCE, name, props, protect=protect, deps=deps)


# --- the pack ---------------------------------------------------------------------------------


def test_every_rule_is_mandatory_and_named() -> None:
    policies = rules.policies()
    assert [p.name for p in policies] == [
        "no-open-ingress", "no-floating-ip-on-private-nodes", "database-protected",
        "quorum-odd-size", "quorum-anti-affinity", "no-plaintext-secret-outputs",
        "pinned-container-images"]
    assert all(p.enforcement_level is EnforcementLevel.MANDATORY for p in policies)
    assert all(isinstance(p, StackValidationPolicy) for p in policies[:-1])
    assert isinstance(policies[-1], ResourceValidationPolicy)


def test_entry_points_match_the_program() -> None:
    (entry,) = rules.ENTRY_POINTS
    assert entry.group_suffix == f"-{roles.PAAS_LB_GROUP}"
    assert entry.ports == frozenset(f.port for f in roles.PAAS_LOAD_BALANCER.forwards)


# --- no-open-ingress --------------------------------------------------------------------------


@pytest.mark.parametrize("port", [80, 443, 2222, 443.0])  # the engine sends numbers as floats
def test_open_entry_points_pass(port: float) -> None:
    lb = group("paasmas-lab-paas-lb")
    assert not run_stack(rules.validate_no_open_ingress,
                         [lb, rule(f"lb-{port}", lb, prefix="0.0.0.0/0", port=port)]).found


@pytest.mark.parametrize(("group_name", "port", "prefix"), [
    ("paasmas-lab-jenkins", 8080, "0.0.0.0/0"),  # right port set, wrong group
    ("paasmas-lab-paas-lb", 22, "0.0.0.0/0"),  # right group, undocumented port
    ("paasmas-lab-bastion", 22, "::/0"),  # IPv6 any
    ("paasmas-lab-database", 3306, "0.0.0.0/0"),
])
def test_open_rules_outside_the_entry_points_fail(group_name: str, port: int,
                                                  prefix: str) -> None:
    sg = group(group_name)
    bad = rule("bad", sg, prefix=prefix, port=port)
    violations = run_stack(rules.validate_no_open_ingress, [sg, bad])
    assert violations.urns == [bad.urn]
    assert group_name in violations.messages[0] and prefix in violations.messages[0]


def test_rule_without_source_is_open_to_everyone() -> None:
    sg = group("paasmas-lab-database")
    bad = rule("no-source", sg, port=3306)  # neither prefix nor group: Neutron allows all
    assert run_stack(rules.validate_no_open_ingress, [sg, bad]).urns == [bad.urn]


def test_port_range_reaching_beyond_the_entry_points_fails() -> None:
    lb = group("paasmas-lab-paas-lb")
    wide = resource(rules.SEC_GROUP_RULE, "wide", {
        "direction": "ingress", "protocol": "tcp", "portRangeMin": 1, "portRangeMax": 65535,
        "remoteIpPrefix": "0.0.0.0/0"}, deps={"securityGroupId": [lb]})
    everything = resource(rules.SEC_GROUP_RULE, "any-protocol", {
        "direction": "ingress", "remoteIpPrefix": "0.0.0.0/0"}, deps={"securityGroupId": [lb]})
    assert run_stack(rules.validate_no_open_ingress,
                     [lb, wide, everything]).urns == [wide.urn, everything.urn]


def test_restricted_group_sourced_egress_and_computed_rules_pass() -> None:
    sg = group("paasmas-lab-database")
    ok = [
        rule("cidr", sg, prefix="172.24.4.0/24"),
        rule("host", sg, prefix="198.51.100.7/32"),
        rule("from-group", sg, remote_group=UNKNOWN),  # a group's ID, unknown during preview
        rule("subnet", sg, prefix=UNKNOWN),  # the tenant subnet's CIDR, computed
        rule("egress", sg, prefix="0.0.0.0/0", direction="egress"),
    ]
    assert not run_stack(rules.validate_no_open_ingress, [sg, *ok]).found


def test_group_resolved_by_id_when_no_dependency_is_recorded() -> None:
    lb = group("paasmas-lab-paas-lb", gid="sg-1")
    literal = resource(rules.SEC_GROUP_RULE, "literal", {
        "direction": "ingress", "protocol": "tcp", "portRangeMin": 443, "portRangeMax": 443,
        "remoteIpPrefix": "0.0.0.0/0", "securityGroupId": "sg-1"})
    assert not run_stack(rules.validate_no_open_ingress, [lb, literal]).found
    orphan = resource(rules.SEC_GROUP_RULE, "orphan", {
        "direction": "ingress", "protocol": "tcp", "portRangeMin": 443, "portRangeMax": 443,
        "remoteIpPrefix": "0.0.0.0/0", "securityGroupId": "sg-elsewhere"})
    violations = run_stack(rules.validate_no_open_ingress, [lb, orphan])
    assert violations.urns == [orphan.urn] and "'unknown'" in violations.messages[0]


# --- no-floating-ip-on-private-nodes ----------------------------------------------------------


def port(name: str, pid: Any = UNKNOWN) -> Any:
    return resource(rules.PORT, name, {"name": name, "id": pid})


def fip(name: str, target: Any, kind: str = rules.FLOATING_IP) -> Any:
    return resource(kind, name, {"portId": UNKNOWN, "pool": "public"},
                    deps={"portId": [target]})


@pytest.mark.parametrize("role", ["database"])
@pytest.mark.parametrize("kind", [rules.FLOATING_IP, rules.FLOATING_IP_ASSOCIATE])
def test_floating_ip_on_private_node_fails(role: str, kind: str) -> None:
    p = port(f"{role}-port-0")
    node = server(f"{role}-0", role, port=p)
    address = fip(f"{role}-fip-0", p, kind)
    violations = run_stack(rules.validate_no_floating_ip_on_private_nodes, [p, node, address])
    assert violations.urns == [address.urn]
    assert f"{role} node '{role}-0'" in violations.messages[0]


@pytest.mark.parametrize("kind", [rules.FLOATING_IP, rules.FLOATING_IP_ASSOCIATE])
def test_floating_ip_on_jenkins_passes(kind: str) -> None:
    """Jenkins may have one (the git host's webhooks; reachable from jenkins.allowed_cidrs)."""
    p = port("jenkins-port-0")
    node = server("jenkins-0", "jenkins", port=p)
    address = fip("jenkins-fip-0", p, kind)
    violations = run_stack(rules.validate_no_floating_ip_on_private_nodes, [p, node, address])
    assert violations.urns == []


def test_floating_ip_on_bastion_and_load_balancer_passes() -> None:
    p = port("bastion-port-0")
    bastion = server("bastion-0", "bastion", port=p)
    lb = resource(rules.LOAD_BALANCER, "paas-lb", {"vipPortId": UNKNOWN})
    resources = [p, bastion, lb, fip("bastion-fip", p), fip("paas-lb-fip", lb)]
    assert not run_stack(rules.validate_no_floating_ip_on_private_nodes, resources).found


def test_floating_ip_port_resolved_by_id_after_creation() -> None:
    p = port("database-port-0", pid="port-7")
    node = resource(rules.INSTANCE, "database-0", {
        "metadata": {"role": "database"}, "networks": [{"port": "port-7"}]})
    address = resource(rules.FLOATING_IP_ASSOCIATE, "fip", {
        "portId": "port-7", "floatingIp": "203.0.113.10"})
    assert run_stack(rules.validate_no_floating_ip_on_private_nodes,
                     [p, node, address]).urns == [address.urn]


# --- database-protected -----------------------------------------------------------------------


def volume(name: str, role: str, protect: bool) -> Any:
    return resource(rules.VOLUME, name, {"metadata": {"role": role, "index": "0"}, "size": 2},
                    protect=protect)


def test_protected_database_passes_and_other_roles_are_free() -> None:
    resources = [server("database-0", "database", protect=True),
                 volume("database-data-0", "database", True),
                 server("paas-0", "paas"), volume("jenkins-data-0", "jenkins", False)]
    assert not run_stack(rules.validate_database_protected, resources).found


def test_unprotected_database_server_and_volume_fail() -> None:
    bare_server = server("database-1", "database", protect=False)
    bare_volume = volume("database-data-1", "database", False)
    violations = run_stack(rules.validate_database_protected, [
        server("database-0", "database", protect=True), bare_server, bare_volume])
    assert violations.urns == [bare_server.urn, bare_volume.urn]
    assert "database server 'database-1'" in violations.messages[0]
    assert "database data volume 'database-data-1'" in violations.messages[1]


# --- quorum-odd-size --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [3, 5, 7])
def test_odd_quorums_pass(size: int) -> None:
    resources = [server(f"{r}-{i}", r) for r in ("paas", "database") for i in range(size)]
    resources.append(server("jenkins-0", "jenkins"))  # not a quorum role: one is fine
    assert not run_stack(rules.validate_quorum_odd_size, resources).found


@pytest.mark.parametrize(("role", "size"), [("paas", 1), ("paas", 2), ("database", 4),
                                            ("database", 2), ("paas", 6)])
def test_even_or_small_quorums_fail(role: str, size: int) -> None:
    other = "database" if role == "paas" else "paas"
    resources = [server(f"{role}-{i}", role) for i in range(size)]
    resources += [server(f"{other}-{i}", other) for i in range(3)]
    violations = run_stack(rules.validate_quorum_odd_size, resources)
    assert len(violations.found) == 1
    assert violations.messages[0].startswith(f"{role} has {size} nodes")


# --- quorum-anti-affinity ---------------------------------------------------------------------


def server_group(name: str, policies: Any) -> Any:
    return resource(rules.SERVER_GROUP, name, {"name": name, "policies": policies})


@pytest.mark.parametrize("policies", ["soft-anti-affinity", ["anti-affinity"], UNKNOWN])
def test_quorum_in_one_anti_affinity_group_passes(policies: Any) -> None:
    resources: list[Any] = []
    for role in ("paas", "database"):
        g = server_group(f"{role}-group", policies)
        resources += [g, *(server(f"{role}-{i}", role, server_group=g) for i in range(3))]
    assert not run_stack(rules.validate_quorum_anti_affinity, resources).found


@pytest.mark.parametrize("policies", ["affinity", ["soft-affinity"], []])
def test_quorum_in_affinity_group_fails(policies: Any) -> None:
    g = server_group("database-group", policies)
    nodes = [server(f"database-{i}", "database", server_group=g) for i in range(3)]
    violations = run_stack(rules.validate_quorum_anti_affinity, [g, *nodes])
    assert violations.urns == [n.urn for n in nodes]


def test_quorum_without_group_or_split_over_groups_fails() -> None:
    loose = server("paas-0", "paas")
    groups = [server_group(f"database-group-{i}", "anti-affinity") for i in range(3)]
    split = [server(f"database-{i}", "database", server_group=groups[i]) for i in range(3)]
    violations = run_stack(rules.validate_quorum_anti_affinity, [loose, *groups, *split])
    assert violations.urns == [loose.urn, None]
    assert "in no server group" in violations.messages[0]
    assert "spread over 3 server groups" in violations.messages[1]


def test_server_group_resolved_by_id_from_scheduler_hints() -> None:
    g = resource(rules.SERVER_GROUP, "g", {"id": "sg-9", "policies": ["affinity"]})
    node = resource(rules.INSTANCE, "paas-0", {"metadata": {"role": "paas"},
                                               "schedulerHints": [{"group": "sg-9"}]})
    assert run_stack(rules.validate_quorum_anti_affinity, [g, node]).urns == [node.urn]


# --- no-plaintext-secret-outputs --------------------------------------------------------------

PASSWORD = "pw0123456789abcdefghij"
KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"


def secrets() -> list[Any]:
    return [resource(rules.GENERATED, "db-root", {"result": PASSWORD, "length": 24}),
            resource(rules.GENERATED, "ca", {"key_pem": KEY, "cert_pem": "cert"})]


def stack(outputs: dict[str, Any]) -> Any:
    return resource(rules.STACK, "paasmas-lab", outputs)


def test_declared_secret_outputs_and_plain_outputs_pass() -> None:
    assert DATABASE_PASSWORD in SECRET_OUTPUTS
    outputs = {DATABASE_PASSWORD: PASSWORD, "database_host": "10.20.0.50",
               "node_ips": {"paas": ["10.20.0.10"]}, "paas_domain": UNKNOWN}
    assert not run_stack(rules.validate_no_plaintext_secret_outputs,
                         [*secrets(), stack(outputs)]).found


@pytest.mark.parametrize("outputs", [
    {"database_root_password": PASSWORD},
    {"debug": {"nested": ["x", f"mysql://root:{PASSWORD}@db"]}},
    {"ca_key": KEY},
    {"other_key": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"},
])
def test_secret_material_in_plain_outputs_fails(outputs: dict[str, Any]) -> None:
    s = stack(outputs)
    violations = run_stack(rules.validate_no_plaintext_secret_outputs, [*secrets(), s])
    assert violations.urns == [s.urn]
    assert f"stack output '{next(iter(outputs))}'" in violations.messages[0]


def test_unknown_secrets_during_preview_are_skipped() -> None:
    unknown_password = resource(rules.GENERATED, "db-root", {"result": UNKNOWN})
    s = stack({"database_host": UNKNOWN, "ssh_user": "core"})
    assert not run_stack(rules.validate_no_plaintext_secret_outputs,
                         [unknown_password, s]).found


# --- pinned-container-images ------------------------------------------------------------------


def cloud_config(*, files: dict[str, str] | None = None, units: dict[str, str] | None = None,
                 drop_ins: dict[str, str] | None = None) -> str:
    import yaml

    doc: dict[str, Any] = {"write_files": [{"path": p, "content": c}
                                           for p, c in (files or {}).items()],
                           "coreos": {"units": [{"name": n, "content": c}
                                                for n, c in (units or {}).items()]}}
    for name, content in (drop_ins or {}).items():
        doc["coreos"]["units"].append(
            {"name": name, "drop_ins": [{"name": "20-x.conf", "content": content}]})
    return "#cloud-config\n" + yaml.safe_dump(doc)


def pinned_violations(user_data: Any) -> list[str]:
    node = server("database-0", "database", user_data=user_data)
    return run_resource(rules.validate_pinned_images, node).messages


PXC_UNIT = ("[Service]\nExecStart=/usr/bin/docker run --rm --name pxc --network host \\\n"
            "  --env-file /etc/pxc.env -v /srv/data/mysql:/var/lib/mysql \\\n  {image}\n")


@pytest.mark.parametrize("user_data", [
    cloud_config(units={"pxc.service": PXC_UNIT.format(image=PINNED)}),
    cloud_config(drop_ins={"etcd-member.service":
                           '[Service]\nEnvironment="ETCD_IMAGE=quay.io/coreos/etcd:v3.5.16"\n'}),
    cloud_config(files={"/etc/x/Dockerfile": f"FROM {PINNED} AS base\nFROM base\nRUN true\n",
                        "/opt/bin/build": 'docker build -t local/x:1 /etc/x\n'},
                 units={"x.service": "ExecStart=/usr/bin/docker run -d --rm ${X_IMAGE}\n"}),
    cloud_config(files={"/etc/k8s/pod.yaml": "spec:\n  containers:\n  - image: nginx:1.27.3\n"}),
    cloud_config(files={"/etc/x.env": "APP_IMAGE=docker.io/library/redis:7.4.1\n"},
                 units={"x.service": "ExecStart=/usr/bin/podman run -it ${APP_IMAGE}\n"}),
    "#!/bin/sh\nexec docker -H unix:///run/docker.sock run -p 80:80 -e A=b nginx:1.27.3\n",
    cloud_config(units={"ok.service": "ExecStart=/usr/bin/docker exec -i pxc mysql\n"}),
])
def test_pinned_or_imageless_user_data_passes(user_data: str) -> None:
    assert pinned_violations(user_data) == []


@pytest.mark.parametrize(("user_data", "reference"), [
    (cloud_config(units={"pxc.service": PXC_UNIT.format(image="percona/pxc:latest")}),
     "percona/pxc:latest"),
    (cloud_config(units={"pxc.service": PXC_UNIT.format(image="percona/pxc")}), "percona/pxc"),
    (cloud_config(drop_ins={"etcd-member.service":
                            'Environment="ETCD_IMAGE=quay.io/coreos/etcd:v3"\n'}),
     "quay.io/coreos/etcd:v3"),
    (cloud_config(files={"/etc/x/Dockerfile": "FROM jenkins/jenkins:lts-jdk21\n"}),
     "jenkins/jenkins:lts-jdk21"),
    (cloud_config(files={"/etc/k8s/pod.yaml": "containers:\n  - image: 'nginx:stable'\n"}),
     "nginx:stable"),
    (cloud_config(files={"/etc/x.env": "APP_IMAGE=redis:latest\n"},
                  units={"x.service": "ExecStart=/usr/bin/docker run --rm $APP_IMAGE\n"}),
     "redis:latest"),
    (cloud_config(units={"x.service": "ExecStart=/usr/bin/docker run --rm ${RUNTIME_IMAGE}\n"}),
     "${RUNTIME_IMAGE}"),
    (cloud_config(units={"x.service": "ExecStartPre=/usr/bin/docker pull -q alpine\n"}),
     "alpine"),
    ("#!/bin/sh\ndocker run -itv /x:/x --name n busybox:latest sh\n", "busybox:latest"),
    ("#!/bin/sh\ndocker run x/y@sha256:abc\n", "x/y@sha256:abc"),  # malformed digest
])
def test_unpinned_images_fail_naming_the_image(user_data: str, reference: str) -> None:
    messages = pinned_violations(user_data)
    assert len(messages) == 1, messages
    assert f"'{reference}'" in messages[0]


def test_encoded_files_and_base64_user_data_are_read() -> None:
    unit = PXC_UNIT.format(image="percona/pxc:latest")
    packed = base64.b64encode(gzip.compress(unit.encode())).decode()
    doc = ("#cloud-config\nwrite_files:\n- path: /etc/systemd/system/pxc.service\n"
           f"  encoding: gz+b64\n  content: {packed}\n")
    assert len(pinned_violations(doc)) == 1
    assert len(pinned_violations(base64.b64encode(doc.encode()).decode())) == 1


def test_unknown_user_data_is_left_to_the_engine() -> None:
    # During preview the engine cannot know user data; pulumi-policy turns the read into an
    # advisory "can't run during preview" diagnostic, which is what we want.
    from pulumi_policy.proxy import UnknownValueError

    with pytest.raises(UnknownValueError):
        pinned_violations(UNKNOWN)


def test_other_resource_types_and_servers_without_user_data_pass() -> None:
    other = resource(rules.VOLUME, "v", {"userData": "docker run alpine"})
    assert not run_resource(rules.validate_pinned_images, other).found
    assert pinned_violations("") == []


@pytest.mark.parametrize(("reference", "problem"), [
    (PINNED, None),
    ("quay.io/coreos/etcd:v3.5.16", None),
    ("registry.local:5000/team/app:1.2", None),
    ("registry.local:5000/team/app", "has no tag, so it pulls :latest"),
    ("app:latest", "has tag 'latest', which is not a version"),
    ("app:22", "has tag '22', which is not a version"),
    ("app@sha256:1234", "has a malformed digest"),
])
def test_pin_problem(reference: str, problem: str | None) -> None:
    assert rules.pin_problem(reference) == problem


@pytest.mark.parametrize("token", [
    rules.INSTANCE, rules.PORT, rules.SEC_GROUP, rules.SEC_GROUP_RULE, rules.FLOATING_IP,
    rules.FLOATING_IP_ASSOCIATE, rules.VOLUME, rules.SERVER_GROUP, rules.LOAD_BALANCER,
    ])
def test_resource_types_exist_in_the_pinned_provider_sdks(token: str) -> None:
    """A renamed type would silently switch a rule off: every token the rules match is one the
    pinned provider packages register."""
    import importlib.util
    from pathlib import Path

    package = {"openstack": "pulumi_openstack"}[token.split(":", 1)[0]]
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None
    sources = Path(spec.origin).parent.rglob("*.py")
    assert any(f"'{token}'" in path.read_text() for path in sources), token
