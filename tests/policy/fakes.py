"""Policy resource objects as the pack receives them, built from plain values for direct tests.

The objects are pulumi-policy's own classes, with properties wrapped in its unknown-checking
proxy exactly as its analyzer server does; `UNKNOWN` stands for a value the engine cannot know
during preview.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

UNKNOWN = UNKNOWN_STRING_VALUE


def urn_of(resource_type: str, name: str) -> str:
    return f"urn:pulumi:test::paasmas::{resource_type}::{name}"


def resource(resource_type: str, name: str, props: Mapping[str, Any], *, protect: bool = False,
             deps: Mapping[str, Sequence[PolicyResource]] | None = None) -> PolicyResource:
    opts = PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    return PolicyResource(resource_type, unknown_checking_proxy(dict(props)),
                          urn_of(resource_type, name), name, opts, None, None, [],
                          {k: list(v) for k, v in (deps or {}).items()})


@dataclass
class Violations:
    found: list[tuple[str, str | None]] = field(default_factory=list)

    def __call__(self, message: str, urn: str | None = None) -> None:
        self.found.append((message, urn))

    @property
    def messages(self) -> list[str]:
        return [m for m, _ in self.found]

    @property
    def urns(self) -> list[str | None]:
        return [u for _, u in self.found]


StackValidate = Callable[[StackValidationArgs, Any], Any]
ResourceValidate = Callable[[ResourceValidationArgs, Any], Any]


def run_stack(validate: StackValidate, resources: Sequence[PolicyResource]) -> Violations:
    violations = Violations()
    validate(StackValidationArgs(list(resources)), violations)
    return violations


def run_resource(validate: ResourceValidate, target: PolicyResource) -> Violations:
    violations = Violations()
    args = ResourceValidationArgs(target.resource_type, target.props, target.urn, target.name,
                                  target.opts, None)
    validate(args, violations)
    return violations
