"""The host lab's view of the project's rendered user data: which files a node gets, which
environment its units run with. Pure functions over cloud-config text (no processes here)."""

from __future__ import annotations

import functools
import ipaddress
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from components.config import PlatformConfig, load
from components.contexts import (
    NodePlace,
    PaasSecrets,
    StackNames,
    bastion_context,
    database_context,
    database_lb_context,
    paas_context,
)
from components.planning import (
    EtcdMember,
    database_vip_address,
    etcd_members,
    fixed_addresses,
    node_name,
)
from components.roles import Role
from components.userdata import DatabaseSecrets, TlsBundle, render_cloud_config


@dataclass(frozen=True)
class WrittenFile:
    path: str
    content: str
    permissions: int


@dataclass(frozen=True)
class LabHost:
    role: Role
    index: int
    hostname: str
    address: str  # on the tenant network

    @property
    def key(self) -> str:
        """Short name used for namespaces, directories and test ids: `database-0`."""
        return f"{self.role.value}-{self.index}"


@dataclass(frozen=True)
class LabLayout:
    """Which hosts the lab has and where they sit: the project's own address plan."""

    stack: str
    prefix: str
    cidr: ipaddress.IPv4Network
    sizes: Mapping[Role, int]
    ssh_user: str = "core"
    app_database: str = "app"
    app_user: str = "app"

    @functools.cached_property
    def config(self) -> PlatformConfig:
        """The lab as a stack config, through the program's own loader (so the lab's user data
        follows the same rules and defaults as a real stack's). Flavors and images are names
        nothing looks up here."""
        def role(r: Role, **extra: object) -> dict[str, object]:
            return {"size": self.sizes.get(r, 1), "flavor": "lab", **extra}

        return load({
            "paasmas:image": "lab",
            "paasmas:network": {"external_network": "lab", "cidr": str(self.cidr)},
            "paasmas:access": {"ssh_user": self.ssh_user,
                               "ssh_public_key": "ssh-ed25519 AAAA lab",
                               "ssh_allowed_cidrs": ["192.0.2.0/24"]},
            "paasmas:bastion": {"flavor": "lab"},
            "paasmas:paas": role(Role.PAAS),
            "paasmas:jenkins": {"flavor": "lab", "allowed_cidrs": ["192.0.2.0/24"]},
            "paasmas:database": role(Role.DATABASE, name=self.app_database, user=self.app_user,
                                     load_balancer=role(Role.DB_LB, mode="haproxy")),
        })

    @property
    def names(self) -> StackNames:
        return StackNames(self.stack, self.prefix)

    def hosts(self, role: Role | None = None) -> tuple[LabHost, ...]:
        found: list[LabHost] = []
        for r, size in self.sizes.items():
            if role is not None and r is not role:
                continue
            for i, address in enumerate(fixed_addresses(self.cidr, r.value, size)):
                found.append(LabHost(r, i, node_name(self.prefix, r.value, i), address))
        return tuple(found)

    def database_vip(self) -> str:
        return database_vip_address(self.cidr)

    def etcd_members(self) -> tuple[EtcdMember, ...]:
        paas = self.hosts(Role.PAAS)
        return etcd_members([h.hostname for h in paas], [h.address for h in paas])


def written_files(cloud_config: str) -> tuple[WrittenFile, ...]:
    """The `write_files` entries of a cloud-config document."""
    document: dict[str, Any] = yaml.safe_load(cloud_config)
    return tuple(
        WrittenFile(entry["path"], entry.get("content", ""),
                    int(str(entry.get("permissions", "0644")), 8))
        for entry in document.get("write_files", [])
    )


def units(cloud_config: str) -> dict[str, dict[str, Any]]:
    """The `coreos.units` entries by name."""
    document: dict[str, Any] = yaml.safe_load(cloud_config)
    return {u["name"]: u for u in document.get("coreos", {}).get("units", [])}


def unit_environment(unit: Mapping[str, Any]) -> dict[str, str]:
    """`Environment="K=V"` lines of a unit's drop-ins (and its own content), in order."""
    texts = [unit.get("content", "")] + [d.get("content", "") for d in unit.get("drop_ins", [])]
    environment: dict[str, str] = {}
    for text in texts:
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("Environment="):
                for assignment in shlex.split(line.removeprefix("Environment=")):
                    key, _, value = assignment.partition("=")
                    environment[key] = value
    return environment


def parse_environment_file(text: str) -> dict[str, str]:
    """systemd `EnvironmentFile=` semantics for the simple files we render: `K=V` lines,
    comments, one level of double or single quotes around the value."""
    environment: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        environment[key.strip()] = value
    return environment


def replace_environment_line(text: str, key: str, value: str) -> str:
    """`text` with the `key=` line set to `value` (appended when absent)."""
    lines = [line for line in text.splitlines() if not line.startswith(f"{key}=")]
    lines.append(f"{key}={shlex.quote(value) if ' ' in value else value}")
    return "\n".join(lines) + "\n"


def galera_options_for_mariadb(paasmas_cnf: str, provider_ssl: str) -> tuple[str, list[str]]:
    """The rendered PXC option file, as MariaDB's Galera reads it: PXC's one-switch cluster
    encryption (`pxc-encrypt-cluster-traffic`) is not a MariaDB option; the same certificates
    go to the Galera provider's `socket.ssl_*` options instead. Returns the file and what was
    translated (for the lab's log)."""
    lines: list[str] = []
    translated: list[str] = []
    for line in paasmas_cnf.splitlines():
        key = line.split("=", 1)[0].strip()
        if key == "pxc-encrypt-cluster-traffic":
            translated.append(f"{line.strip()} -> wsrep_provider_options={provider_ssl}")
            if line.split("=", 1)[1].strip().upper() in ("ON", "1", "TRUE"):
                lines.append(f'wsrep_provider_options="{provider_ssl}"')
            continue
        lines.append(line)
    return "\n".join(lines) + "\n", translated


@dataclass(frozen=True)
class LabSecrets:
    ca_cert: str
    etcd_member: Mapping[str, TlsBundle]  # by paas hostname
    database_etcd_client: TlsBundle
    galera: TlsBundle
    database: DatabaseSecrets
    k3s_token: str
    paas_admin_password: str


def render_host(layout: LabLayout, host: LabHost, secrets: LabSecrets) -> str:
    """The cloud-config the platform would boot `host` with, through the program's own context
    builders (components/contexts.py) and `render_cloud_config`."""
    cfg, names, place = layout.config, layout.names, NodePlace(host.index, host.address)
    paas = [h.address for h in layout.hosts(Role.PAAS)]
    databases = [h.address for h in layout.hosts(Role.DATABASE)]
    if host.role is Role.BASTION:
        return render_cloud_config(bastion_context(cfg, names, place))
    if host.role is Role.PAAS:
        return render_cloud_config(paas_context(
            cfg, names, place, paas_addresses=paas,
            secrets=PaasSecrets(secrets.etcd_member[host.hostname], secrets.k3s_token,
                                secrets.paas_admin_password),
            domain=f"{layout.prefix}.invalid", cloud_provider=None))
    if host.role is Role.DATABASE:
        return render_cloud_config(database_context(
            cfg, names, place, database_addresses=databases, paas_addresses=paas,
            etcd_tls=secrets.database_etcd_client, galera_tls=secrets.galera,
            secrets=secrets.database, data_device="/dev/vdb"))
    if host.role is Role.DB_LB:
        return render_cloud_config(database_lb_context(
            cfg, names, place, database_addresses=databases, paas_addresses=paas,
            etcd_tls=secrets.database_etcd_client, vip_address=layout.database_vip(),
            subnet_prefix_len=layout.cidr.prefixlen))
    raise ValueError(f"the host lab has no {host.role.value} hosts")


def file_by_path(files: Iterable[WrittenFile], path: str) -> WrittenFile | None:
    return next((f for f in files if f.path == path), None)
