"""The pack's rules on the resource graph the real program declares (run under Pulumi mocks).

The mocks give every resource the ID `<name>-id`; the engine's property dependencies are rebuilt
from those IDs. The "preview" variant then hides every ID, as a first preview does, so the rules
must resolve references through the dependencies alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi_policy import StackValidationPolicy

from policy import rules
from tests.policy.fakes import UNKNOWN, resource, run_resource, run_stack
from tests.unit import harness
from tests.unit.harness import ProgramRun, stack_values, with_changes

pytestmark = pytest.mark.policy

LAB = stack_values("lab")


@dataclass
class StateRecordingMocks(harness.RecordingMocks):
    """The harness's mocks, also keeping each resource's resulting state (outputs)."""

    states: dict[str, dict[str, Any]] = field(default_factory=dict)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, state = super().new_resource(args)
        self.states[args.name] = {**state, "id": resource_id}
        return resource_id, state


def run_program(values: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> ProgramRun:
    monkeypatch.setattr(harness, "RecordingMocks", StateRecordingMocks)
    return harness.run_program(values)


def _ids_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _ids_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _ids_in(item)


def _hide_ids(value: Any, ids: set[str]) -> Any:
    if isinstance(value, str):
        return UNKNOWN if value in ids else value
    if isinstance(value, dict):
        return {k: _hide_ids(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide_ids(v, ids) for v in value]
    return value


def policy_resources(run: ProgramRun, *, preview: bool = False,
                     unprotect: bool = False) -> list[Any]:
    """The program's resources as the pack's stack rules receive them."""
    mocks = run.mocks
    assert isinstance(mocks, StateRecordingMocks)
    by_id = {f"{r.name}-id": r.name for r in mocks.resources}
    hidden = set(by_id) if preview else set()
    built: dict[str, Any] = {}
    for record in mocks.resources:
        deps = {key: [built[by_id[v]] for v in _ids_in(value) if by_id.get(v) in built]
                for key, value in record.inputs.items()}
        props = _hide_ids(mocks.states[record.name], hidden)
        options = run.options.get(record.name)
        built[record.name] = resource(record.type, record.name, props,
                                      protect=bool(options and options.protect
                                                   and not unprotect),
                                      deps={k: v for k, v in deps.items() if v})
    stack = resource(rules.STACK, "paasmas-unit", run.outputs)
    return [*built.values(), stack]


def stack_violations(resources: list[Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for policy in rules.policies():
        if isinstance(policy, StackValidationPolicy):
            violations = run_stack(policy.validate, resources)
            if violations.found:
                found[policy.name] = violations.messages
    return found


@pytest.mark.parametrize("preview", [False, True], ids=["after-up", "preview"])
def test_lab_stack_passes_every_stack_rule(preview: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    resources = policy_resources(run_program(LAB, monkeypatch), preview=preview)
    kinds = {r.resource_type for r in resources}
    assert {rules.SEC_GROUP_RULE, rules.FLOATING_IP, rules.VOLUME, rules.SERVER_GROUP,
            rules.GENERATED, rules.STACK} <= kinds
    assert stack_violations(resources) == {}


def test_floating_ips_on_private_roles_never_reach_the_graph(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader refuses them (the registry's private roles), so no program graph has one; the
    policy rule stays for graphs built another way (tests/policy/test_rules.py)."""
    with pytest.raises(Exception, match="database.floating_ips: database nodes stay private"):
        run_program(with_changes(LAB, database={"floating_ips": True}), monkeypatch)


@pytest.mark.parametrize("preview", [False, True], ids=["after-up", "preview"])
def test_floating_ips_on_jenkins_are_allowed(preview: bool,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_program(with_changes(LAB, jenkins={"floating_ips": True}), monkeypatch)
    assert stack_violations(policy_resources(run, preview=preview)) == {}


def test_floating_ips_on_paas_nodes_are_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_program(with_changes(LAB, paas={"floating_ips": True}), monkeypatch)
    assert stack_violations(policy_resources(run, preview=True)) == {}


@pytest.mark.parametrize("mode", ["octavia", "haproxy"])
def test_every_server_of_the_program_runs_pinned_images(mode: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    lb: dict[str, Any] = {"mode": mode}
    if mode == "haproxy":
        lb["flavor"] = "paasmas.small"
    run = run_program(with_changes(LAB, database={"load_balancer": lb}), monkeypatch)
    servers = [r for r in policy_resources(run) if r.resource_type == rules.INSTANCE]
    roles = {rules.role(s) for s in servers}
    assert roles == {"bastion", "paas", "jenkins", "database"} | (
        {"db-lb"} if mode == "haproxy" else set())
    images: dict[str, set[str]] = {}
    for server in servers:
        assert run_resource(rules.validate_pinned_images, server).messages == [], server.name
        found = rules.scan_images(server.props["userData"]).references
        images.setdefault(str(rules.role(server)), set()).update(
            i.reference.split("@")[0].rsplit(":", 1)[0] for i in found)
    # The scan finds what cloud-config/pins.yaml pins for each role.
    assert images["paas"] == {"quay.io/coreos/etcd"}
    assert images["database"] == {"docker.io/percona/percona-xtradb-cluster"}
    assert images["jenkins"] == {"docker.io/jenkins/jenkins"}
    assert images["bastion"] == set()
    if mode == "haproxy":
        assert images["db-lb"] == {"docker.io/percona/haproxy"}


def test_database_without_protection_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the program dropped `protect=True`: every database server and volume is named."""
    resources = policy_resources(run_program(LAB, monkeypatch), preview=True, unprotect=True)
    found = stack_violations(resources)
    assert list(found) == ["database-protected"]
    assert len(found["database-protected"]) == 6  # 3 servers, 3 data volumes
