"""The property names and shapes of OpenStack resources and functions, from two sources.

- `sdk_*`: the pinned Python SDK (pulumi_openstack), i.e. what our program sends and expects.
- `schema_*`: a Pulumi package schema, i.e. what a provider plugin says it accepts and returns.

A shape is "scalar", ("list", shape), ("map", shape) or a dict of property name -> shape (an
object), so a comparison catches a renamed property at any depth and a list the plugin flattens
into one object (Terraform's MaxItems=1) or the reverse.
"""

from __future__ import annotations

import collections.abc
import importlib
import inspect
import json
import pkgutil
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_openstack
from pulumi import _types

Shape = Any  # "scalar" | tuple[str, Shape] | dict[str, Shape]
Schema = dict[str, Any]

_LISTS = (list, collections.abc.Sequence)
_MAPS = (dict, collections.abc.Mapping)


@dataclass(frozen=True)
class Signature:
    """What one resource or function looks like."""

    inputs: dict[str, Shape]
    outputs: dict[str, Shape]
    required: frozenset[str]


def _sdk_shape(typ: Any) -> Shape:
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        members = [
            arg
            for arg in typing.get_args(typ)
            if arg is not type(None)
            and typing.get_origin(arg) is not collections.abc.Awaitable
            and not (isinstance(arg, type) and issubclass(arg, pulumi.Output))
            and typing.get_origin(arg) is not pulumi.Output
            and not typing.is_typeddict(arg)
        ]
        classes = [m for m in members if isinstance(m, type) and _types.is_input_type(m)]
        return _sdk_shape(classes[0] if classes else members[0])
    if origin in _LISTS:
        return ("list", _sdk_shape(typing.get_args(typ)[0]))
    if origin in _MAPS:
        return ("map", _sdk_shape(typing.get_args(typ)[1]))
    if isinstance(typ, type) and _types.is_input_type(typ):
        return {name: _sdk_shape(t) for name, t in _types.input_type_types(typ).items()}
    if isinstance(typ, type) and _types.is_output_type(typ):
        return {name: _sdk_shape(t) for name, t in _types.output_type_types(typ).items()}
    return "scalar"


def _resource_classes() -> dict[str, type]:
    """token -> resource class, from the SDK's own registration table."""
    source = inspect.getsource(pulumi_openstack)
    table = re.search(r'resource_modules="""(.*?)"""', source, re.S)
    assert table is not None, "pulumi_openstack/__init__.py has no resource_modules table"
    classes: dict[str, type] = {}
    for entry in json.loads(table.group(1)):
        module = importlib.import_module(entry["fqn"])
        for token, name in entry["classes"].items():
            classes[token] = getattr(module, name)
    return classes


def _required_inputs(args_class: type) -> frozenset[str]:
    names = _types.input_type_py_to_pulumi_names(args_class)
    params = inspect.signature(args_class.__init__).parameters.values()  # type: ignore[misc]
    return frozenset(
        names[p.name] for p in params if p.name in names and p.default is inspect.Parameter.empty
    )


def sdk_resources() -> dict[str, Signature]:
    signatures: dict[str, Signature] = {}
    for token, cls in _resource_classes().items():
        args_class = getattr(inspect.getmodule(cls), f"{cls.__name__}Args")
        signatures[token] = Signature(
            inputs=_sdk_shape(args_class),
            outputs={n: _sdk_shape(t) for n, t in _types.resource_types(cls).items()},
            required=_required_inputs(args_class),
        )
    return signatures


def sdk_functions() -> dict[str, Signature]:
    """token -> signature of every function (wire names from its `__args__` lines).

    The SDK's function parameters all default to None, so `required` stays empty here.
    """
    signatures: dict[str, Signature] = {}
    for path in _package_files():
        module = importlib.import_module(path)
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.endswith("_output"):
                continue
            source = inspect.getsource(fn)
            token = re.search(r"invoke\('(openstack:[^']+)'", source)
            result = re.search(r"typ=(\w+)\)", source)
            if token is None or result is None:
                continue
            wire = dict(re.findall(r"__args__\['(\w+)'\] = (\w+)", source))
            signatures[token.group(1)] = Signature(
                inputs={w: "scalar" for w in wire},
                outputs=_sdk_shape(getattr(module, result.group(1))),
                required=frozenset(),
            )
    return signatures


def _package_files() -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages(pulumi_openstack.__path__, prefix="pulumi_openstack.")
        if not info.ispkg and not info.name.rsplit(".", 1)[1].startswith("_")
    ]


def sdk_config_keys() -> frozenset[str]:
    source = inspect.getsource(importlib.import_module("pulumi_openstack.config.vars"))
    return frozenset(re.findall(r"__config__\.get\w*\('(\w+)'\)", source))


def _schema_shape(spec: Schema, schema: Schema, depth: int = 0) -> Shape:
    ref = spec.get("$ref", "")
    if ref.startswith("#/types/"):
        target = schema["types"][ref.removeprefix("#/types/")]
        return {n: _schema_shape(s, schema, depth + 1) for n, s in target["properties"].items()}
    if spec.get("type") == "array":
        return ("list", _schema_shape(spec["items"], schema, depth + 1))
    if spec.get("type") == "object" and "additionalProperties" in spec:
        return ("map", _schema_shape(spec["additionalProperties"], schema, depth + 1))
    return "scalar"


def schema_resources(schema: Schema) -> dict[str, Signature]:
    return {
        token: Signature(
            inputs={n: _schema_shape(s, schema) for n, s in res.get("inputProperties", {}).items()},
            outputs={n: _schema_shape(s, schema) for n, s in res.get("properties", {}).items()},
            required=frozenset(res.get("requiredInputs", [])),
        )
        for token, res in schema["resources"].items()
    }


def schema_functions(schema: Schema) -> dict[str, Signature]:
    signatures: dict[str, Signature] = {}
    for token, fn in schema["functions"].items():
        inputs = fn.get("inputs", {})
        signatures[token] = Signature(
            inputs={n: "scalar" for n in inputs.get("properties", {})},
            outputs={
                n: _schema_shape(s, schema)
                for n, s in fn.get("outputs", {}).get("properties", {}).items()
            },
            required=frozenset(inputs.get("required", [])),
        )
    return signatures


def differences(path: str, sdk: Shape, plugin: Shape) -> list[str]:
    """Human-readable differences between two shapes (empty when they agree)."""
    if isinstance(sdk, dict) and isinstance(plugin, dict):
        found: list[str] = []
        for name in sorted(set(sdk) | set(plugin)):
            if name not in plugin:
                found.append(f"{path}.{name}: in the SDK, not in the plugin schema")
            elif name not in sdk:
                found.append(f"{path}.{name}: in the plugin schema, not in the SDK")
            else:
                found += differences(f"{path}.{name}", sdk[name], plugin[name])
        return found
    if isinstance(sdk, tuple) and isinstance(plugin, tuple) and sdk[0] == plugin[0]:
        return differences(f"{path}[]", sdk[1], plugin[1])
    if sdk == plugin:
        return []
    return [f"{path}: SDK {_kind(sdk)}, plugin {_kind(plugin)}"]


def _kind(shape: Shape) -> str:
    if isinstance(shape, dict):
        return "object"
    if isinstance(shape, tuple):
        return f"{shape[0]} of {_kind(shape[1])}"
    return str(shape)
