"""Run the platform program under Pulumi mocks and record every resource it declares.

Mock values are derived from resource names (never from call order), so results are stable.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dill
import pulumi
import yaml

from components.config import load
from components.platform import Platform
from components.preflight import PulumiCloudLookup, look_up

REPO = Path(__file__).resolve().parents[2]


def committed_stack_file(stack: str) -> Path:
    """Where a stack's settings are committed: `stacks/lab.yaml` for the lab (`make up` writes
    Pulumi's own stacks/Pulumi.lab.yaml from it, with the checkout's salt), and
    `stacks/Pulumi.<stack>.yaml` for the documented examples."""
    if stack == "lab":
        return REPO / "stacks" / "lab.yaml"
    return REPO / "stacks" / f"Pulumi.{stack}.yaml"


def committed_stack_config(stack: str) -> dict[str, Any]:
    """The `config:` mapping of a stack as committed (never an encryption salt)."""
    config: dict[str, Any] = yaml.safe_load(committed_stack_file(stack).read_text())["config"]
    return config


def stack_values(stack: str) -> dict[str, Any]:
    """A stack file's `paasmas:*` values as Python objects (sections as dicts)."""
    return {k: v for k, v in committed_stack_config(stack).items() if k.startswith("paasmas:")}


def as_pulumi_config(values: dict[str, Any]) -> dict[str, str]:
    """What Pulumi hands the program: sections as JSON text, scalars as text."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def with_changes(values: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    """A copy of stack values with some keys of some sections replaced (None deletes)."""
    out = copy.deepcopy(values)
    for section, changes in sections.items():
        target = out.setdefault(f"paasmas:{section}", {})
        for key, value in changes.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
    return out


def _n(name: str, modulo: int = 200) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % modulo + 2


SIG_KEY = "4dabf18193072939515e22adb298388d"  # Pulumi wire format: a special value
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # ... that is a secret


def _unwrap(value: Any) -> tuple[Any, bool]:
    """A plain value and whether any part of it was secret."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return _unwrap(value["value"])[0], True
        items = {k: _unwrap(v) for k, v in value.items()}
        return {k: v for k, (v, _) in items.items()}, any(s for _, s in items.values())
    if isinstance(value, list):
        pairs = [_unwrap(v) for v in value]
        return [v for v, _ in pairs], any(s for _, s in pairs)
    return value, False


@dataclass
class Recorded:
    type: str
    name: str
    inputs: dict[str, Any]
    secret_inputs: set[str] = field(default_factory=set)


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    resources: list[Recorded] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        plain: dict[str, Any] = {}
        secret: set[str] = set()
        for key, value in args.inputs.items():
            plain[key], is_secret = _unwrap(value)
            if is_secret:
                secret.add(key)
        self.resources.append(Recorded(args.typ, args.name, plain, secret))
        state = dict(plain)
        t = args.typ
        if t == "openstack:networking/port:Port":
            fixed = (state.get("fixedIps") or [{}])[0].get("ipAddress")
            state["allFixedIps"] = [fixed or f"10.99.0.{_n(args.name)}"]
        elif t == "openstack:networking/floatingIp:FloatingIp":
            state["address"] = f"172.24.4.{_n(args.name)}"
        elif t == "openstack:loadbalancer/loadBalancer:LoadBalancer":
            state["vipAddress"] = f"10.20.0.{100 + _n(args.name, 100)}"
            state["vipPortId"] = f"port-{args.name}"
        elif t == "pulumi-python:dynamic:Resource":
            # Run the dynamic provider's real create(): generated secrets are really generated.
            provider = dill.loads(base64.b64decode(plain["__provider"]))
            props = {k: v for k, v in plain.items() if k != "__provider"}
            result = provider.create(props)
            return result.id, {**props, **(result.outs or {})}
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        token = args.token
        name = args.args.get("name") or args.args.get("networkId") or "x"
        if token == "openstack:networking/getNetwork:getNetwork":
            return {"id": f"net-{name}", "name": name}, []
        if token == "openstack:networking/getSubnet:getSubnet":
            return {"id": f"subnet-{name}", "name": name, "cidr": "10.50.0.0/24"}, []
        if token == "openstack:networking/getRouter:getRouter":
            return {"id": f"router-{name}", "name": name}, []
        if token == "openstack:images/getImage:getImage":
            return {"id": f"image-{name}", "name": name}, []
        if token == "openstack:identity/getAuthScope:getAuthScope":
            return {"id": "current", "region": "RegionOne", "projectId": "project-unit",
                    "serviceCatalogs": [
                        {"type": "identity", "name": "keystone", "id": "k",
                         "endpoints": [
                             {"interface": "internal", "region": "RegionOne", "id": "i",
                              "regionId": "RegionOne", "url": "http://internal:5000"},
                             {"interface": "public", "region": "RegionOne", "id": "p",
                              "regionId": "RegionOne", "url": "https://keystone.unit:5000/v3"},
                         ]}]}, []
        if token == "openstack:compute/getFlavor:getFlavor":
            return {"id": f"flavor-{name}", "name": name}, []
        if token == "openstack:dns/getDnsZone:getDnsZone":
            return {"id": f"zone-{name}", "name": name}, []
        if token == "openstack:compute/getKeypair:getKeypair":
            return {"id": name, "name": name, "publicKey": "ssh-ed25519 AAAA"}, []
        raise AssertionError(f"unexpected invoke {token}")

    def of_type(self, suffix: str) -> list[Recorded]:
        return [r for r in self.resources if r.type.endswith(suffix)]


@dataclass(frozen=True)
class RecordedOptions:
    protect: bool
    ignore_changes: tuple[str, ...]


@dataclass
class ProgramRun:
    mocks: RecordingMocks
    outputs: dict[str, Any]
    secret_outputs: set[str]
    options: dict[str, RecordedOptions]  # resource name -> the options it was declared with


def run_program(values: dict[str, Any], stack: str = "unit",
                rolling: frozenset[str] = frozenset()) -> ProgramRun:
    """Load the config exactly as the real program does, build the platform, resolve outputs."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="paasmas", stack=stack, preview=False)
    resolved: dict[str, Any] = {}
    secret: set[str] = set()
    options: dict[str, RecordedOptions] = {}

    def record_options(args: pulumi.ResourceTransformationArgs) -> None:
        options[args.name] = RecordedOptions(bool(args.opts.protect),
                                             tuple(args.opts.ignore_changes or ()))

    @pulumi.runtime.test  # type: ignore[misc]  # the SDK decorator is untyped
    def program() -> Any:
        cfg = load(as_pulumi_config(values))
        facts = look_up(cfg, PulumiCloudLookup())  # the real lookups, answered by the mocks
        platform = Platform("paasmas", cfg, facts, stack=stack, prefix=f"paasmas-{stack}",
                            rolling=rolling,
                            opts=pulumi.ResourceOptions(transformations=[record_options]))

        async def collect() -> None:
            for key, value in platform.outputs.items():
                output = pulumi.Output.from_input(value)
                resolved[key] = await output.future()
                if await output.is_secret():
                    secret.add(key)

        return asyncio.ensure_future(collect())

    program()
    return ProgramRun(mocks, resolved, secret, options)
