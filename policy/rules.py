"""The PaaSmas policy rules: plain validate functions over pulumi-policy's resource objects.

Importing this module starts nothing (the pack's `__main__.py` builds and serves the PolicyPack),
so tests call each validate function directly with resource objects they build.

What a rule can see, and when (docs/policy.md, "What the pack sees"):
- Stack rules get every resource's planned *outputs* after the program ran, with resource options
  (`opts.protect`) and the dependency graph (`property_dependencies`). During a preview, values
  that only exist after creation (IDs, addresses, generated passwords) are unknown: the rules
  resolve references through the graph and skip values they cannot know yet.
- The user-data rule is a resource rule: it reads a server's *inputs* (the OpenStack provider
  keeps only a hash of user data in its outputs). User data is a secret input built from values
  that exist only after other resources are created, so during the preview of a new stack it is
  unknown and pulumi-policy reports the rule as "can't run during preview" (advisory); during
  `pulumi up` it runs on the real text before each server is created.
- Secret values reach the pack decrypted and unmarked: whether a stack output is *marked* secret
  is invisible here, so the secret-output rule checks that no output outside the declared secret
  outputs carries secret material, and policy/preview_summary.py checks the marking.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import ipaddress
import re
import shlex
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

from components import roles as registry
from components.outputs import SECRET_OUTPUTS

PACK_NAME = "paasmas"

INSTANCE = "openstack:compute/instance:Instance"
PORT = "openstack:networking/port:Port"
SEC_GROUP = "openstack:networking/secGroup:SecGroup"
SEC_GROUP_RULE = "openstack:networking/secGroupRule:SecGroupRule"
FLOATING_IP = "openstack:networking/floatingIp:FloatingIp"
FLOATING_IP_ASSOCIATE = "openstack:networking/floatingIpAssociate:FloatingIpAssociate"
VOLUME = "openstack:blockstorage/volume:Volume"
SERVER_GROUP = "openstack:compute/serverGroup:ServerGroup"
LOAD_BALANCER = "openstack:loadbalancer/loadBalancer:LoadBalancer"
STACK = "pulumi:pulumi:Stack"
# Generated passwords, CA and certificates (components/generated.py) are Python dynamic resources.
GENERATED = "pulumi-python:dynamic:Resource"

# Roles as the program writes them into server and volume metadata ({role, index, stack}), and
# what the role registry (components/roles.py) says of them.
DATABASE = registry.Role.DATABASE.value
QUORUM_ROLES = tuple(r.value for r in registry.QUORUM_ROLES)
# Nodes that must never be reachable from outside: no floating IP.
PRIVATE_ROLES = frozenset(r.value for r in registry.PRIVATE_ROLES)
ANTI_AFFINITY_POLICIES = frozenset({"anti-affinity", "soft-anti-affinity"})


@dataclass(frozen=True)
class EntryPoint:
    """A documented public entry point: a security group (by name suffix), protocol and ports."""

    group_suffix: str
    protocol: str
    ports: frozenset[int]


# The PaaS load balancer's group (`<prefix>-paas-lb`) on HTTP, HTTPS and git push.
ENTRY_POINTS = (EntryPoint(f"-{registry.PAAS_LB_GROUP}", "tcp",
                           frozenset(f.port for f in registry.PAAS_LOAD_BALANCER.forwards)),)

_UNKNOWN_SENTINELS = frozenset({
    UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE, UNKNOWN_ARCHIVE_VALUE, UNKNOWN_OBJECT_VALUE,
})


class _Unknown:
    """A value the engine cannot know yet (during preview)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()


def _known(value: Any) -> Any:
    return UNKNOWN if isinstance(value, str) and value in _UNKNOWN_SENTINELS else value


def get(props: Any, *path: str | int, default: Any = None) -> Any:
    """props[path...], UNKNOWN where the engine does not know the value yet, default if absent.

    pulumi-policy's proxies raise UnknownValueError on reading an unknown value; plain dicts (as
    tests build them) hold the engine's sentinel strings instead. Both come back as UNKNOWN.
    """
    value = props
    for key in path:
        if value is UNKNOWN:
            return UNKNOWN
        try:
            value = _known(value[key])
        except UnknownValueError:
            return UNKNOWN
        except (KeyError, IndexError, TypeError):
            return default
        if value is None:
            return default
    return value


def items(value: Any) -> Iterator[Any]:
    """Elements of a list property (each possibly UNKNOWN); nothing for an unknown or absent one."""
    if value is UNKNOWN or value is None or isinstance(value, str | bytes):
        return
    try:
        length = len(value)
    except TypeError:
        return
    for i in range(length):
        yield get(value, i)


def role(resource: PolicyResource) -> str | None:
    """The platform role from a server's or volume's metadata ({role, index, stack})."""
    value = get(resource.props, "metadata", "role")
    return value if isinstance(value, str) else None


class Graph:
    """The stack's resources, with references resolved the way the engine records them."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.resources = list(resources)
        self.by_id: dict[str, PolicyResource] = {}
        for resource in self.resources:
            resource_id = get(resource.props, "id")
            if isinstance(resource_id, str) and resource_id:
                self.by_id[resource_id] = resource

    def of_type(self, *types: str) -> list[PolicyResource]:
        return [r for r in self.resources if r.resource_type in types]

    def referenced(self, resource: PolicyResource, prop: str,
                   values: Iterable[Any] = ()) -> list[PolicyResource]:
        """The resources an input property points at.

        The engine records each input's dependencies (`property_dependencies`), known even
        during preview; where they are absent (a literal ID), the known ID values are matched.
        """
        found = list(resource.property_dependencies.get(prop) or ())
        if not found:
            candidates = list(values) or [get(resource.props, prop)]
            found = [self.by_id[v] for v in candidates if isinstance(v, str) and v in self.by_id]
        return found

    def security_group_name(self, rule: PolicyResource) -> str | None:
        for group in self.referenced(rule, "securityGroupId"):
            if group.resource_type == SEC_GROUP:
                name = get(group.props, "name")
                return name if isinstance(name, str) else None
        return None

    def servers_on_port(self, port: PolicyResource) -> list[PolicyResource]:
        port_id = get(port.props, "id")
        servers = []
        for server in self.of_type(INSTANCE):
            by_dependency = any(dep.urn == port.urn
                                for dep in server.property_dependencies.get("networks", ()))
            by_id = isinstance(port_id, str) and port_id in (
                get(n, "port") for n in items(get(server.props, "networks")))
            if by_dependency or by_id:
                servers.append(server)
        return servers

    def server_groups_of(self, server: PolicyResource) -> list[PolicyResource]:
        hinted = [get(h, "group") for h in items(get(server.props, "schedulerHints"))]
        return [g for g in self.referenced(server, "schedulerHints", hinted)
                if g.resource_type == SERVER_GROUP]


# ---------------------------------------------------------------------------------------------
# no-open-ingress


def _is_open_prefix(prefix: str) -> bool:
    try:
        return ipaddress.ip_network(prefix, strict=False).prefixlen == 0
    except ValueError:
        return False


def _port(value: Any) -> int | None:
    """A port number; the engine's protobuf Struct carries every number as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


def _is_entry_point(group: str | None, protocol: Any, low: int | None, high: int | None) -> bool:
    if group is None or low is None or high is None or not 0 < low <= high <= 65535:
        return False
    return any(group.endswith(e.group_suffix) and protocol == e.protocol
               and all(port in e.ports for port in range(low, high + 1))
               for e in ENTRY_POINTS)


def validate_no_open_ingress(args: StackValidationArgs, report: ReportViolation) -> None:
    graph = Graph(args.resources)
    for rule in graph.of_type(SEC_GROUP_RULE):
        props = rule.props
        if get(props, "direction") == "egress":
            continue  # outbound: nodes pull images and packages
        prefix = get(props, "remoteIpPrefix")
        if prefix is UNKNOWN:
            continue  # computed from another resource (the tenant subnet's CIDR), never literal
        if prefix:
            if not _is_open_prefix(str(prefix)):
                continue
        elif get(props, "remoteGroupId"):
            continue  # from members of another group (unknown during preview, but set)
        protocol = get(props, "protocol")
        low, high = _port(get(props, "portRangeMin")), _port(get(props, "portRangeMax"))
        group = graph.security_group_name(rule)
        if _is_entry_point(group, protocol, low, high):
            continue
        ports = (f"port {low}" if low == high else f"ports {low}-{high}") if low else "every port"
        report(f"security group rule '{rule.name}' opens {protocol or 'every protocol'} {ports} "
               f"of group '{group or 'unknown'}' to {prefix or 'every address'}; only the "
               f"documented entry points (the PaaS load balancer group '<prefix>-paas-lb' on "
               f"TCP 80, 443 and 2222) may be open to the internet: list the networks that need "
               f"access instead", rule.urn)


# ---------------------------------------------------------------------------------------------
# no-floating-ip-on-private-nodes


def _floating_ip_targets(graph: Graph, fip: PolicyResource) -> list[PolicyResource]:
    """The servers a floating IP reaches through its port (pulumi-openstack 5 associates floating
    IPs with ports only)."""
    servers: list[PolicyResource] = []
    for target in graph.referenced(fip, "portId"):
        if target.resource_type == PORT:
            servers.extend(graph.servers_on_port(target))
        elif target.resource_type == INSTANCE:
            servers.append(target)
    return servers


def validate_no_floating_ip_on_private_nodes(args: StackValidationArgs,
                                             report: ReportViolation) -> None:
    graph = Graph(args.resources)
    for fip in graph.of_type(FLOATING_IP, FLOATING_IP_ASSOCIATE):
        for server in _floating_ip_targets(graph, fip):
            server_role = role(server)
            if server_role in PRIVATE_ROLES:
                report(f"floating IP '{fip.name}' makes {server_role} node '{server.name}' "
                       f"reachable from outside; {server_role} nodes stay private (reach them "
                       f"through the bastion): set {server_role}.floating_ips to false",
                       fip.urn)


# ---------------------------------------------------------------------------------------------
# database-protected


def validate_database_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource in args.resources:
        if resource.resource_type not in (INSTANCE, VOLUME) or role(resource) != DATABASE:
            continue
        if not resource.opts.protect:
            kind = "server" if resource.resource_type == INSTANCE else "data volume"
            report(f"database {kind} '{resource.name}' is not protected from deletion: declare "
                   f"it with protect=True (removing it takes `pulumi state unprotect` first)",
                   resource.urn)


# ---------------------------------------------------------------------------------------------
# quorum-odd-size and quorum-anti-affinity


def _servers_by_role(resources: Iterable[PolicyResource]) -> dict[str, list[PolicyResource]]:
    grouped: dict[str, list[PolicyResource]] = {}
    for resource in resources:
        if resource.resource_type == INSTANCE and (server_role := role(resource)):
            grouped.setdefault(server_role, []).append(resource)
    return grouped


def validate_quorum_odd_size(args: StackValidationArgs, report: ReportViolation) -> None:
    by_role = _servers_by_role(args.resources)
    for quorum_role in QUORUM_ROLES:
        size = len(by_role.get(quorum_role, ()))
        if size and (size < 3 or size % 2 == 0):
            report(f"{quorum_role} has {size} nodes: a quorum needs an odd number of at least 3 "
                   f"(it survives one node loss); set {quorum_role}.size to "
                   f"{max(3, size + 1 if size % 2 == 0 else size)}",
                   by_role[quorum_role][0].urn)


def _policies_of(group: PolicyResource) -> set[str] | None:
    """A server group's policies; None while unknown."""
    value = get(group.props, "policies")
    if value is UNKNOWN:
        return None
    if isinstance(value, str):
        return {value}
    found = set()
    for item in items(value):
        if item is UNKNOWN:
            return None
        if isinstance(item, str):
            found.add(item)
    return found


def validate_quorum_anti_affinity(args: StackValidationArgs, report: ReportViolation) -> None:
    graph = Graph(args.resources)
    by_role = _servers_by_role(args.resources)
    for quorum_role in QUORUM_ROLES:
        groups_used: dict[str, PolicyResource] = {}
        for server in by_role.get(quorum_role, ()):
            groups = graph.server_groups_of(server)
            if not groups:
                report(f"{quorum_role} node '{server.name}' is in no server group: quorum nodes "
                       f"need an anti-affinity group so that one host failure takes one node",
                       server.urn)
                continue
            for group in groups:
                groups_used[group.urn] = group
                policies = _policies_of(group)
                if policies is not None and not policies & ANTI_AFFINITY_POLICIES:
                    report(f"{quorum_role} node '{server.name}' is in server group "
                           f"'{group.name}' with policy {sorted(policies) or 'none'}: use "
                           f"soft-anti-affinity or anti-affinity ({quorum_role}."
                           f"server_group_policy)", server.urn)
        if len(groups_used) > 1:
            report(f"{quorum_role} nodes are spread over {len(groups_used)} server groups "
                   f"({', '.join(sorted(g.name for g in groups_used.values()))}): anti-affinity "
                   f"only separates members of the same group", None)


# ---------------------------------------------------------------------------------------------
# no-plaintext-secret-outputs

PEM_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
# Generated secrets shorter than this are not searched for (too likely to match by chance).
MIN_SECRET_LENGTH = 8


def _strings(value: Any) -> Iterator[str]:
    """Every known string inside a property value."""
    value = _known(value)
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key in value:
            yield from _strings(get(value, key))
    elif isinstance(value, Sequence) and not isinstance(value, bytes):
        for item in items(value):
            yield from _strings(item)


def secret_material(resources: Iterable[PolicyResource]) -> set[str]:
    """The known values of the stack's generated secrets (passwords, private keys)."""
    fields = {GENERATED: ("result", "key_pem")}
    found: set[str] = set()
    for resource in resources:
        for field in fields.get(resource.resource_type, ()):
            value = get(resource.props, field)
            if isinstance(value, str) and len(value.strip()) >= MIN_SECRET_LENGTH:
                found.add(value.strip())
    return found


def validate_no_plaintext_secret_outputs(args: StackValidationArgs,
                                         report: ReportViolation) -> None:
    secrets = secret_material(args.resources)
    for stack in (r for r in args.resources if r.resource_type == STACK):
        for name in stack.props:
            if name in SECRET_OUTPUTS:
                continue  # declared secret; its marking is checked by policy/preview_summary.py
            for text in _strings(get(stack.props, name)):
                if PEM_PRIVATE_KEY.search(text) or any(s in text for s in secrets):
                    report(f"stack output '{name}' carries secret material (a generated "
                           f"password or a private key) in plain text: export it with "
                           f"pulumi.Output.secret and list it in components/outputs.py "
                           f"SECRET_OUTPUTS", stack.urn)
                    break


# ---------------------------------------------------------------------------------------------
# pinned-container-images

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# A version tag starts with major.minor (v3.5.16, 8.4.7-7.1, 2.555.3-lts-jdk21); `latest`,
# `lts` or a bare major move under you.
VERSION_TAG = re.compile(r"^v?\d+\.\d+")

_CONTAINER_CLI = re.compile(r"(?:^|[\s;&|(`\"'=])(?:[\w./-]*/)?(docker|podman|nerdctl)\s+(.*)$")
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)
_IMAGE_ASSIGNMENT = re.compile(r"\b([A-Z][A-Z0-9_]*_IMAGE)=([\"']?)([^\s\"']+)")
_YAML_IMAGE = re.compile(r"^\s*-?\s*image:\s*[\"']?([^\s\"'#]+)")
_VARIABLE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
# `docker build`, also through a variable naming the CLI (`"$docker" build`).
_LOCAL_BUILD = re.compile(r"\b(?:docker|podman|nerdctl|buildah)\b\S*\s+(?:image\s+|buildx\s+)?"
                          r"(?:build|bud)\b", re.IGNORECASE)

# `docker run/create/pull` options that take no value; every other option takes one.
_BOOLEAN_LONG = frozenset({
    "rm", "detach", "interactive", "tty", "privileged", "init", "read-only", "publish-all",
    "quiet", "disable-content-trust", "no-healthcheck", "oom-kill-disable", "sig-proxy",
    "all-tags", "help", "replace", "rmi", "no-hosts",
})
_BOOLEAN_SHORT = frozenset("ditPqa")
_GLOBAL_WITH_VALUE = frozenset({"-H", "--host", "--config", "-c", "--context", "-l",
                                "--log-level", "--url", "--connection", "--root", "--runroot"})


@dataclass(frozen=True)
class ImageReference:
    reference: str
    where: str  # the file or unit of the user data that names it


def decode_user_data(user_data: str) -> str:
    """User data as text: plain, or base64 and/or gzip as Nova also accepts it."""
    if user_data.startswith(("#", "{", "Content-Type")):
        return user_data
    raw: bytes = user_data.encode()
    with contextlib.suppress(binascii.Error, ValueError):
        raw = base64.b64decode(user_data, validate=True)
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return user_data


def _decode_file(content: str, encoding: str | None) -> str:
    encoding = (encoding or "").lower()
    raw = content.encode()
    if "b64" in encoding or "base64" in encoding:
        raw = base64.b64decode(content)
    if "gz" in encoding:
        raw = gzip.decompress(raw)
    return raw.decode(errors="replace")


def user_data_texts(user_data: str) -> list[tuple[str, str]]:
    """(where, text) for every file, unit and command a cloud-config carries."""
    text = decode_user_data(user_data)
    if not text.startswith("#cloud-config"):
        return [("user data", text)]
    doc = yaml.safe_load(text) or {}
    found: list[tuple[str, str]] = []
    for entry in doc.get("write_files") or ():
        content = entry.get("content") or ""
        found.append((f"file {entry.get('path')}", _decode_file(content, entry.get("encoding"))))
    for unit in (doc.get("coreos") or {}).get("units") or ():
        name = unit.get("name")
        if unit.get("content"):
            found.append((f"unit {name}", unit["content"]))
        for drop_in in unit.get("drop_ins") or unit.get("drop-ins") or ():
            found.append((f"unit {name} drop-in {drop_in.get('name')}",
                          drop_in.get("content") or ""))
    for key in ("runcmd", "bootcmd"):
        for command in doc.get(key) or ():
            line = " ".join(command) if isinstance(command, list) else str(command)
            found.append((key, line))
    return found


def _logical_lines(text: str) -> list[str]:
    """Lines with shell/systemd continuations joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith(("#", ";"))]


def _tokens(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=True)
    except ValueError:
        return command.split()


def container_cli_image(command: str) -> str | None:
    """The image of a `docker|podman|nerdctl [container] run|create|pull ...` command line."""
    tokens = _tokens(command)
    i = 0
    while i < len(tokens) and tokens[i].startswith("-"):  # global options
        i += 1 if "=" in tokens[i] or tokens[i] not in _GLOBAL_WITH_VALUE else 2
    if i < len(tokens) and tokens[i] in ("container", "image"):
        i += 1
    if i >= len(tokens) or tokens[i] not in ("run", "create", "pull"):
        return None
    i += 1
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            i += 1
            break
        if token.startswith("--"):
            i += 1 if "=" in token or token[2:] in _BOOLEAN_LONG else 2
        elif token.startswith("-") and len(token) > 1:
            flags = token[1:]
            takes_value = [c not in _BOOLEAN_SHORT for c in flags]
            # `-v x` or `-itv x`: the value follows; `-vx` or `-ivx`: it is attached.
            i += 2 if any(takes_value) and takes_value.index(True) == len(flags) - 1 else 1
        else:
            break
    return tokens[i] if i < len(tokens) else None


def _assignments(texts: Sequence[tuple[str, str]]) -> dict[str, str]:
    """NAME=value pairs written literally anywhere in the user data (env files, units, scripts)."""
    found: dict[str, str] = {}
    for _, text in texts:
        for match in re.finditer(r"\b([A-Za-z_][A-Za-z0-9_]*)=([\"']?)([^\s\"';]+)",
                                 "\n".join(_logical_lines(text))):
            if "$" not in match.group(3) and "%" not in match.group(3):
                found.setdefault(match.group(1), match.group(3))
    return found


@dataclass(frozen=True)
class ImageScan:
    references: tuple[ImageReference, ...]
    unresolved: tuple[ImageReference, ...]  # `$VAR` images the user data does not assign
    builds_locally: bool  # the user data builds images (docker build) from Dockerfiles


def scan_images(user_data: str) -> ImageScan:
    texts = user_data_texts(user_data)
    assignments = _assignments(texts)
    references: list[ImageReference] = []
    unresolved: list[ImageReference] = []
    builds_locally = False
    for where, text in texts:
        stages: set[str] = set()
        builds_locally = builds_locally or any(_LOCAL_BUILD.search(line)
                                               for line in _logical_lines(text))
        for line in _logical_lines(text):
            if (cli := _CONTAINER_CLI.search(line)) and (
                    image := container_cli_image(cli.group(2))):
                variable = _VARIABLE.match(image)
                if variable and variable.group(1) in assignments:
                    references.append(ImageReference(assignments[variable.group(1)], where))
                elif variable or "$" in image:
                    unresolved.append(ImageReference(image, where))
                else:
                    references.append(ImageReference(image, where))
            if from_line := _FROM.match(line):
                base, stage = from_line.group(1), from_line.group(2)
                if base.lower() != "scratch" and base not in stages and "$" not in base:
                    references.append(ImageReference(base, where))
                if stage:
                    stages.add(stage)
            for assignment in _IMAGE_ASSIGNMENT.finditer(line):
                value = assignment.group(3)
                if "$" not in value and "%" not in value:
                    references.append(ImageReference(value, where))
            if (yaml_image := _YAML_IMAGE.match(line)) and not re.search(
                    r"[${]", yaml_image.group(1)):
                references.append(ImageReference(yaml_image.group(1), where))
    unique = tuple(dict.fromkeys(references))
    return ImageScan(unique, tuple(dict.fromkeys(unresolved)), builds_locally)


def pin_problem(reference: str) -> str | None:
    """Why an image reference is not pinned to a version, or None when it is."""
    if "@" in reference:
        return None if DIGEST.search(reference) else "has a malformed digest"
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag, so it pulls :latest"
    tag = last.rsplit(":", 1)[1]
    if not VERSION_TAG.match(tag):
        return f"has tag '{tag}', which is not a version"
    return None


def validate_pinned_images(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != INSTANCE:
        return
    # Unknown during the preview of new servers: pulumi-policy then reports the rule as not
    # runnable during preview (advisory); `pulumi up` runs it on the real text.
    user_data = args.props.get("userData")
    if not isinstance(user_data, str) or not user_data:
        return
    scan = scan_images(user_data)
    places: dict[str, list[str]] = {}
    for image in scan.references:
        places.setdefault(image.reference, []).append(image.where)
    for reference, where in places.items():
        if problem := pin_problem(reference):
            report(f"server '{args.name}': container image '{reference}' ({', '.join(where)}) "
                   f"{problem}: pin it by version tag and digest in cloud-config/pins.yaml", None)
    # An image named by a variable that is set at run time is acceptable only as the result of a
    # local build, whose FROM lines are checked above.
    if scan.unresolved and not scan.builds_locally:
        for image in scan.unresolved:
            report(f"server '{args.name}': container image '{image.reference}' ({image.where}) "
                   f"is not assigned anywhere in the user data, so its version cannot be checked",
                   None)


# ---------------------------------------------------------------------------------------------
# The pack


def policies() -> list[Policy]:
    mandatory = EnforcementLevel.MANDATORY
    return [
        StackValidationPolicy(
            name="no-open-ingress",
            description="No security-group rule is open to 0.0.0.0/0 or ::/0 except the "
                        "documented entry points (PaaS load balancer, TCP 80/443/2222).",
            validate=validate_no_open_ingress, enforcement_level=mandatory),
        StackValidationPolicy(
            name="no-floating-ip-on-private-nodes",
            description="Database and Jenkins nodes have no floating IP.",
            validate=validate_no_floating_ip_on_private_nodes, enforcement_level=mandatory),
        StackValidationPolicy(
            name="database-protected",
            description="Database servers and their data volumes are protected from deletion.",
            validate=validate_database_protected, enforcement_level=mandatory),
        StackValidationPolicy(
            name="quorum-odd-size",
            description="Quorum roles (PaaS/etcd, database) have an odd size of at least 3.",
            validate=validate_quorum_odd_size, enforcement_level=mandatory),
        StackValidationPolicy(
            name="quorum-anti-affinity",
            description="Quorum servers share one anti-affinity (soft or hard) server group.",
            validate=validate_quorum_anti_affinity, enforcement_level=mandatory),
        StackValidationPolicy(
            name="no-plaintext-secret-outputs",
            description="No stack output outside the declared secret outputs carries a "
                        "generated password or a private key.",
            validate=validate_no_plaintext_secret_outputs, enforcement_level=mandatory),
        ResourceValidationPolicy(
            name="pinned-container-images",
            description="Every container image a server's user data runs is pinned to a "
                        "version (version tag or digest).",
            validate=validate_pinned_images, enforcement_level=mandatory),
    ]
