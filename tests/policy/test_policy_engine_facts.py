"""What a policy pack receives from the real engine, checked with the engine built by `make setup`
and no cloud: a program of `pulumi.dynamic` resources (served by the SDK's own provider) and a
probe pack that records what its stack policy sees. docs/policy.md ("What the pack sees") rests
on these facts; the PaaSmas pack is loaded in the same runs and must pass.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engine.engine_toolchain import toolchain_environment

pytestmark = pytest.mark.policy

REPO = Path(__file__).resolve().parents[2]

PROGRAM = '''
import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class Thing(ResourceProvider):
    def create(self, props):
        return CreateResult(id_="id-" + props["label"], outs={**props, "address": "10.0.0.7"})


class ThingResource(Resource):
    address: pulumi.Output[str]

    def __init__(self, name, props, opts=None):
        super().__init__(Thing(), name, {"address": None, **props}, opts)


volume = ThingResource("data-volume", {"label": "data", "size": 2},
                       pulumi.ResourceOptions(protect=True))
server = ThingResource("server", {"label": "server", "volume": volume.id, "port": 443})
pulumi.export("server_address", server.address)
pulumi.export("database_password", pulumi.Output.secret("s3cr3t-value-123"))
pulumi.export("plain_value", "pl41n-value-456")
'''

PROBE = '''
import json, os, sys
sys.path.insert(0, {repo!r})
from pulumi_policy import (EnforcementLevel, PolicyPack, ResourceValidationPolicy,
                           StackValidationPolicy)
from policy.rules import UNKNOWN, get


def seen(value):
    if value is UNKNOWN:
        return "<unknown>"
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(type(value))


def record(args, report):
    found = []
    for r in args.resources:
        found.append({{
            "type": r.resource_type, "name": r.name, "protect": r.opts.protect,
            "parent": r.parent.name if r.parent else None,
            "deps": {{k: [d.name for d in v] for k, v in r.property_dependencies.items()}},
            "props": {{k: seen(get(r.props, k)) for k in r.props}},
        }})
    with open(os.environ["PROBE_OUT"], "a") as out:
        out.write(json.dumps(found) + "\\n")


def read_inputs(args, report):
    # Reads an input that is unknown during preview, like a server's user data.
    if args.name == "server":
        line = json.dumps({{"volume": args.props["volume"]}}) + "\\n"
        with open(os.environ["PROBE_OUT"] + ".inputs", "a") as out:
            out.write(line)


PolicyPack("probe", [StackValidationPolicy(name="record", description="records what it sees",
                                           validate=record),
                     ResourceValidationPolicy(name="read-inputs", description="reads inputs",
                                              validate=read_inputs)],
           enforcement_level=EnforcementLevel.ADVISORY)
'''


def pulumi(env: dict[str, str], cwd: Path, *args: str,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["pulumi", *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=600, check=False)
    if "method RunPlugin not implemented" in result.stderr + result.stdout:
        pytest.fail("the toolchain's Python language host does not implement RunPlugin, which "
                    "the engine uses to start Python policy packs (docs/policy.md, 'How the "
                    "pack runs')")
    assert result.returncode == 0 or not check, (
        f"pulumi {' '.join(args)} exited {result.returncode}\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def by_name(snapshot: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in snapshot}


@dataclass(frozen=True)
class Workspace:
    env: dict[str, str]
    project: Path
    probe: Path
    out: Path


@pytest.fixture()
def workspace(tmp_path: Path) -> Workspace:
    env = toolchain_environment()
    if shutil.which("pulumi", path=env["PATH"]) is None:
        pytest.skip(reason="no pulumi binary on the toolchain PATH: run `make setup` first")
    project, probe, backend = tmp_path / "project", tmp_path / "probe", tmp_path / "backend"
    for directory in (project, probe, backend):
        directory.mkdir()
    runtime = {"name": "python", "options": {"toolchain": "pip", "virtualenv": sys.prefix}}
    (project / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "facts", "runtime": runtime}))
    (project / "__main__.py").write_text(PROGRAM)
    (probe / "PulumiPolicy.yaml").write_text(yaml.safe_dump(
        {"runtime": {"name": "python", "options": {"virtualenv": sys.prefix}},
         "version": "0.0.1"}))
    (probe / "__main__.py").write_text(PROBE.format(repo=str(REPO)))
    out = tmp_path / "probe.jsonl"
    env = {**env, "PULUMI_BACKEND_URL": backend.as_uri(), "PULUMI_CONFIG_PASSPHRASE": "facts",
           "PROBE_OUT": str(out)}
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    pulumi(env, project, "stack", "init", "facts", "--non-interactive")
    return Workspace(env, project, probe, out)


def test_what_stack_policies_see_in_preview_and_update(workspace: Workspace) -> None:
    env, project, probe, out = workspace.env, workspace.project, workspace.probe, workspace.out
    packs = ["--policy-pack", str(probe), "--policy-pack", str(REPO / "policy")]

    preview = pulumi(env, project, "preview", "--non-interactive", *packs)
    assert "paasmas@v0.1.0" in preview.stdout  # the PaaSmas pack loaded and passed
    # A resource policy reading an unknown input is reported, not run, during preview.
    assert ("can't run policy 'read-inputs' from policy pack 'probe@v0.0.1' during preview"
            in preview.stdout)
    assert not Path(str(out) + ".inputs").exists()
    (planned,) = [json.loads(line) for line in out.read_text().splitlines()]
    out.unlink()
    pulumi(env, project, "up", "--yes", "--skip-preview", "--non-interactive", *packs)
    (applied,) = [json.loads(line) for line in out.read_text().splitlines()]
    # During the update the same input is known before the resource is created.
    inputs = [json.loads(line) for line in Path(str(out) + ".inputs").read_text().splitlines()]
    assert inputs == [{"volume": "id-data"}]

    before, after = by_name(planned), by_name(applied)
    # Resource options: protect is visible.
    assert before["data-volume"]["protect"] is True and before["server"]["protect"] is False
    assert after["data-volume"]["protect"] is True
    # The dependency graph is known during preview, while the referenced ID is not.
    assert before["server"]["deps"]["volume"] == ["data-volume"]
    assert before["server"]["props"]["volume"] == "<unknown>"
    assert after["server"]["props"]["volume"] == "id-data"
    # Numbers arrive as floats (protobuf Struct).
    assert after["server"]["props"]["port"] == 443.0
    assert isinstance(after["server"]["props"]["port"], float)
    # Stack outputs are the root stack resource's properties; a secret arrives decrypted and
    # unmarked, indistinguishable from a plain value.
    stack = next(r for r in applied if r["type"] == "pulumi:pulumi:Stack")
    assert stack["props"]["database_password"] == "s3cr3t-value-123"
    assert stack["props"]["plain_value"] == "pl41n-value-456"
    assert stack["props"]["server_address"] == "10.0.0.7"
    planned_stack = next(r for r in planned if r["type"] == "pulumi:pulumi:Stack")
    assert planned_stack["props"]["server_address"] == "<unknown>"


def test_private_key_in_a_plain_output_is_rejected_naming_the_rule(workspace: Workspace) -> None:
    """The PaaSmas pack's secret-output rule through the real engine, at preview time."""
    key = "-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEE\\n-----END EC PRIVATE KEY-----\\n"
    with (workspace.project / "__main__.py").open("a") as program:
        program.write(f'pulumi.export("debug_key", "{key}")\n')
    result = pulumi(workspace.env, workspace.project, "preview", "--non-interactive",
                    "--policy-pack", str(REPO / "policy"), check=False)
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert "no-plaintext-secret-outputs" in text and "mandatory" in text
    assert "stack output 'debug_key' carries secret material" in text
    # The violation names the output, never its value (the CLI's own output listing does show
    # plain outputs: that is what the rule is about).
    policies = text[text.index("Policies:"):text.index("Outputs:")]
    assert "debug_key" in policies and "MHcCAQEE" not in policies
