"""What the host checks know about a platform, and how they read what hosts answer.

Pure code: the stack outputs become an `Inventory` (hosts by role, endpoints, expectations), an
SSH configuration routes every node through the bastion, and parsers turn command output into
values the checks compare. Tested without any host (tests/hostlab/test_check_parsers.py).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components import outputs
from components.roles import ROLES as REGISTRY
from components.roles import Role

# Roles by their registry names (components/roles.py), in the registry's order.
ROLES = tuple(r.value for r in REGISTRY)

# Flatcar's own units every node needs (sshd is socket-activated there).
COMMON_UNITS = ("sshd.socket",)
# The units each role's user data enables (cloud-config/<role>.yaml.j2), as systemd names them.
ROLE_UNITS: Mapping[str, tuple[str, ...]] = {
    "bastion": (),
    "paas": ("etcd-member.service", "k3s.service"),
    "jenkins": ("paasmas-jenkins.service",),
    "database": ("paasmas-pxc.service", "paasmas-db-discovery.service",
                 "paasmas-db-accounts.service", "paasmas-clustercheck.socket"),
    "db-lb": ("paasmas-haproxy.service", "paasmas-haproxy-agent.service"),
}

# TCP ports each role's services listen on (what the running services look like from the host),
# from the registry's `listening` purposes.
ROLE_PORTS: Mapping[str, tuple[int, ...]] = {
    r.value: tuple(spec.port(p) for p in spec.listening) for r, spec in REGISTRY.items()}
# Roles whose nodes mount a data volume.
DATA_VOLUME_ROLES = frozenset(r.value for r, spec in REGISTRY.items() if spec.data_volume)

# sshd settings every node must have in effect (`sshd -T` prints keywords in lower case).
SSHD_KEYS_ONLY: Mapping[str, str] = {
    "passwordauthentication": "no",
    "kbdinteractiveauthentication": "no",
    "permitemptypasswords": "no",
    "permitrootlogin": "no",
    "authenticationmethods": "publickey",
}


@dataclass(frozen=True)
class Node:
    role: str
    index: int
    address: str  # private address from node_ips

    @property
    def name(self) -> str:
        return f"{self.role}-{self.index}"

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"


# What to do about an outputs document that fails validation.
OUTPUTS_FIX = "pass the output of `pulumi stack output --json --show-secrets`"
# POSIX portable user names as useradd accepts them by default: no space, no leading `-`.
POSIX_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


def _shown(value: Any) -> str:
    """A value as a message quotes it: repr, so a newline or a space cannot hide, and short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_kind(value: Any) -> str:
    """What a JSON value is, in the words a message about a JSON document uses."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def address_problems(key: str, value: Any) -> list[str]:
    """A node address becomes a `Host` pattern of the SSH configuration: only a plain IPv4
    address (what Neutron gives the tenant network) keeps spaces and options out of it."""
    if not isinstance(value, str):
        return [f"{key}: expected an IPv4 address string, found {_json_kind(value)}"]
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return [f"{key}: {_shown(value)} is not an IPv4 address"]
    return []


def node_ips_problems(value: Any) -> list[str]:
    """`node_ips`: role (registry name) -> list of IPv4 addresses, every one of them checked."""
    if not isinstance(value, Mapping):
        return [f"{outputs.NODE_IPS}: expected an object of role -> addresses, found "
                f"{_json_kind(value)}"]
    problems = []
    unknown = sorted(set(value) - set(ROLES))
    if unknown:
        problems.append(f"{outputs.NODE_IPS}: unknown roles {unknown} (the roles are "
                        f"{', '.join(ROLES)})")
    for role in [r for r in value if r in ROLES]:
        addresses = value[role]
        if not isinstance(addresses, list):
            problems.append(f"{outputs.NODE_IPS}.{role}: expected a list of IPv4 addresses, "
                            f"found {_json_kind(addresses)}")
            continue
        for index, address in enumerate(addresses):
            problems += address_problems(f"{outputs.NODE_IPS}.{role}[{index}]", address)
    return problems


def ssh_user_problems(value: Any) -> list[str]:
    """`ssh_user` becomes the `User` line of the SSH configuration."""
    if not isinstance(value, str):
        return [f"{outputs.SSH_USER}: expected a user name string, found {_json_kind(value)}"]
    if not POSIX_USER.fullmatch(value):
        return [f"{outputs.SSH_USER}: {_shown(value)} is not a POSIX user name "
                f"(^{POSIX_USER.pattern}$)"]
    return []


def bastion_address_problems(value: Any) -> list[str]:
    """`bastion_address` becomes the bastion's `HostName`; null (or absent) means no bastion."""
    if value is None:
        return []
    if not isinstance(value, str):
        return [f"{outputs.BASTION_ADDRESS}: expected an IP address string or null, found "
                f"{_json_kind(value)}"]
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return [f"{outputs.BASTION_ADDRESS}: {_shown(value)} is not an IP address"]
    return []


def outputs_problems(document: Any) -> list[str]:
    """Everything wrong with a stack outputs document, all at once. The checks write an SSH
    configuration (whose `ProxyCommand` runs locally) from it, so every value that reaches that
    file is checked for its exact shape before anything uses it."""
    if not isinstance(document, Mapping):
        return [f"stack outputs: expected a JSON object of output names, found "
                f"{_json_kind(document)}"]
    problems = []
    missing = sorted({outputs.NODE_IPS, outputs.SSH_USER} - set(document))
    if missing:
        problems.append(f"stack outputs lack {', '.join(missing)}")
    if outputs.NODE_IPS in document:
        problems += node_ips_problems(document[outputs.NODE_IPS])
    if outputs.SSH_USER in document:
        problems += ssh_user_problems(document[outputs.SSH_USER])
    problems += bastion_address_problems(document.get(outputs.BASTION_ADDRESS))
    return problems


@dataclass(frozen=True)
class Inventory:
    """The stack outputs, as the checks use them; validated when made, so every Inventory is
    safe to write into an SSH configuration."""

    raw: Mapping[str, Any]

    def __post_init__(self) -> None:
        problems = outputs_problems(self.raw)
        if problems:
            raise ValueError(f"{'; '.join(problems)} — {OUTPUTS_FIX}")

    @classmethod
    def from_outputs(cls, document: Mapping[str, Any]) -> Inventory:
        return cls(document)

    @classmethod
    def from_file(cls, path: Path) -> Inventory:
        """The outputs file; every problem (unreadable, not JSON, wrong shape) is a ValueError
        that names the file."""
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise ValueError(f"{path}: cannot be read ({reason or error}) — "
                             f"{OUTPUTS_FIX} into it") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not JSON ({error.msg}: line {error.lineno} column "
                             f"{error.colno}) — {OUTPUTS_FIX}") from None
        try:
            return cls(document)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None

    def nodes(self, role: str | None = None) -> tuple[Node, ...]:
        ips: Mapping[str, Sequence[str]] = self.raw[outputs.NODE_IPS]
        return tuple(Node(r, i, a) for r in ROLES if role in (None, r)
                     for i, a in enumerate(ips.get(r) or ()))

    def size(self, role: str) -> int:
        return len(self.nodes(role))

    def get(self, name: str) -> Any:
        if name not in self.raw:
            raise KeyError(f"stack output {name!r} is missing")
        return self.raw[name]

    @property
    def ssh_user(self) -> str:
        user: str = self.raw[outputs.SSH_USER]
        return user

    @property
    def bastion_address(self) -> str | None:
        address: str | None = self.raw.get(outputs.BASTION_ADDRESS)
        return address


def ssh_config(platform: Inventory, identity: Path, known_hosts: Path, config_path: Path,
               accept_new: bool = False) -> str:
    """OpenSSH client configuration: the bastion by its public address, every other node by
    its private address through `ProxyCommand ssh -W` on the bastion (paramiko, which runs the
    checks, ignores ProxyJump but honours ProxyCommand)."""
    strict = "accept-new" if accept_new else "yes"
    common = [f"    User {platform.ssh_user}", f"    IdentityFile {identity}",
              "    IdentitiesOnly yes", f"    UserKnownHostsFile {known_hosts}",
              f"    StrictHostKeyChecking {strict}", "    BatchMode yes",
              "    ConnectTimeout 10", "    ServerAliveInterval 15"]
    lines = []
    bastion = platform.bastion_address
    if bastion:
        lines += ["Host bastion", f"    HostName {bastion}", *common, ""]
    others = [n.address for n in platform.nodes() if n.role != Role.BASTION]
    if others:
        lines += [f"Host {' '.join(others)}", *common]
        if bastion:
            lines.append(f"    ProxyCommand ssh -F {config_path} -W %h:%p bastion")
        lines.append("")
    return "\n".join(lines)


def connect_name(platform: Inventory, node: Node) -> str:
    """How the SSH configuration names a node: the bastion by its alias, others by address."""
    return ("bastion" if node.role == Role.BASTION and platform.bastion_address
            else node.address)


# ---- parsers of what hosts print ------------------------------------------------------------

def sshd_effective(text: str) -> dict[str, str]:
    """`sshd -T` output: `keyword value...` lines."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            settings[key.lower()] = value.strip()
    return settings


def sshd_mismatches(effective: Mapping[str, str],
                    expected: Mapping[str, str]) -> list[str]:
    return [f"{k} expected {v!r}, found {effective.get(k, '<unset>')!r}"
            for k, v in expected.items() if effective.get(k) != v]


def listening_ports(ss_output: str) -> set[int]:
    """TCP ports in `ss -Hltn` output (local address is the 4th column)."""
    ports = set()
    for line in ss_output.splitlines():
        fields = line.split()
        if len(fields) >= 4 and ":" in fields[3]:
            port = fields[3].rsplit(":", 1)[1]
            if port.isdigit():
                ports.add(int(port))
    return ports


def df_use_percent(df_output: str) -> dict[str, int]:
    """`df -P` output: mount point -> use% (integer)."""
    use = {}
    for line in df_output.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 6 and fields[4].endswith("%"):
            use[fields[5]] = int(fields[4].rstrip("%"))
    return use


def meminfo_available_fraction(meminfo: str) -> float:
    values = {}
    for line in meminfo.splitlines():
        key, _, rest = line.partition(":")
        if rest.split():
            values[key] = int(rest.split()[0])
    return values["MemAvailable"] / values["MemTotal"]


def status_variables(text: str) -> dict[str, str]:
    """`mysql -N -B` output of SHOW STATUS: tab-separated name and value per line."""
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition("\t")
        if name:
            values[name] = value
    return values


def haproxy_servers(stats_csv: str, backend: str) -> dict[str, str]:
    """HAProxy's `/stats;csv`: server name -> status (UP, DOWN, MAINT, no check...) of one
    backend."""
    text = stats_csv.lstrip("# ")
    rows = csv.DictReader(io.StringIO(text))
    return {row["svname"]: row["status"] for row in rows
            if row.get("pxname") == backend and row.get("svname") not in ("FRONTEND", "BACKEND")}


def haproxy_server_address(name: str) -> str:
    """`db-10-0-0-40` (the agent's naming) -> `10.0.0.40`."""
    return name.removeprefix("db-").replace("-", ".")


@dataclass(frozen=True)
class EtcdStatus:
    member_id: str
    leader: str


def etcd_status(json_text: str) -> EtcdStatus:
    """etcd's `/v3/maintenance/status` answer (v3 JSON gateway: 64-bit IDs as strings)."""
    document = json.loads(json_text)
    return EtcdStatus(str(document["header"]["member_id"]), str(document.get("leader", "0")))


def etcd_member_peer_urls(json_text: str) -> dict[str, list[str]]:
    """`/v3/cluster/member/list`: member name -> peer URLs."""
    members = json.loads(json_text).get("members", [])
    return {m.get("name", m.get("ID", "?")): list(m.get("peerURLs", [])) for m in members}


def kubernetes_nodes_not_ready(nodes_json: str) -> dict[str, str]:
    """`kubectl get nodes -o json`: node name -> reason, for every node not Ready."""
    problems = {}
    for item in json.loads(nodes_json).get("items", []):
        name = item["metadata"]["name"]
        ready = [c for c in item.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
        if not ready or ready[0]["status"] != "True":
            problems[name] = ready[0].get("message", "") if ready else "no Ready condition"
    return problems


def kubernetes_node_names(nodes_json: str) -> list[str]:
    return sorted(i["metadata"]["name"] for i in json.loads(nodes_json).get("items", []))
