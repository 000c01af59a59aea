"""Every node's user data for a stack, rendered from its real stack file with fake-but-valid
certificates and secrets, and the tools that check it (validator, systemd, shellcheck, HAProxy).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.config import PlatformConfig, load
from components.contexts import (
    JenkinsSecrets,
    NodePlace,
    PaasSecrets,
    StackNames,
    bastion_context,
    database_context,
    database_lb_context,
    jenkins_context,
    paas_context,
)
from components.planning import (
    database_vip_address,
    fixed_addresses,
    platform_domain,
    resource_prefix,
)
from components.roles import ROLES, Role
from components.userdata import (
    DatabaseSecrets,
    OpenStackCloudProviderContext,
    RoleContext,
    TlsBundle,
    render_cloud_config,
)
from tests.unit.harness import stack_values

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN = Path(__file__).resolve().parent / "golden"
STACKS = ("lab", "example")
PROJECT = "paasmas"


def _tls() -> TlsBundle:
    return TlsBundle((FIXTURES / "ca.pem").read_text(), (FIXTURES / "node.pem").read_text(),
                     (FIXTURES / "node-key.pem").read_text())


def _secret(label: str) -> str:
    # Recognisable, fixed, alphanumeric like pulumi_random's (special=False) passwords.
    return (label.replace("-", "") + "0123456789abcdefghijklmnopqrstuvwxyz")[:32]


@dataclass(frozen=True)
class RenderedNode:
    stack: str
    context: RoleContext
    text: str

    @property
    def name(self) -> str:
        return self.context.node.hostname

    @property
    def doc(self) -> dict[str, Any]:
        parsed: dict[str, Any] = yaml.safe_load(self.text)
        return parsed

    def files(self) -> dict[str, dict[str, Any]]:
        return {f["path"]: f for f in self.doc.get("write_files", [])}

    def units(self) -> list[dict[str, Any]]:
        units: list[dict[str, Any]] = self.doc.get("coreos", {}).get("units", [])
        return units

    @property
    def base64_size(self) -> int:
        return len(base64.b64encode(self.text.encode()))


def contexts(stack: str) -> list[RoleContext]:
    """One context per node the stack would boot, from the program's own builders
    (components/contexts.py); only what the cloud and the generated secrets would supply is a
    fixed stand-in here."""
    cfg: PlatformConfig = load(stack_values(stack))
    assert cfg.network.cidr is not None, "render tests need a stack that creates its network"
    cidr = cfg.network.cidr
    names = StackNames(stack, resource_prefix(PROJECT, stack))
    tls = _tls()

    def places(role: Role, size: int) -> list[NodePlace]:
        return [NodePlace(i, a) for i, a in enumerate(fixed_addresses(cidr, role, size))]

    paas = fixed_addresses(cidr, Role.PAAS, cfg.paas.node.size)
    databases = fixed_addresses(cidr, Role.DATABASE, cfg.database.node.size)
    domain = platform_domain(cfg.paas.domain, "203.0.113.10")
    cloud = OpenStackCloudProviderContext(
        auth_url="https://keystone.example.com:5000/v3", region="RegionOne",
        application_credential_id="0123456789abcdef0123456789abcdef",
        application_credential_secret=_secret("app-credential"),
        subnet_id="11111111-2222-3333-4444-555555555555",
        floating_network_id="66666666-7777-8888-9999-000000000000", cluster_name=names.prefix)
    out: list[RoleContext] = []
    if cfg.bastion.enabled:
        out += [bastion_context(cfg, names, p) for p in places(Role.BASTION, 1)]
    out += [paas_context(cfg, names, p, paas_addresses=paas,
                         secrets=PaasSecrets(tls, _secret("k3s-token"), _secret("paas-admin")),
                         domain=domain, cloud_provider=cloud)
            for p in places(Role.PAAS, cfg.paas.node.size)]
    out += [jenkins_context(cfg, names, p, secrets=JenkinsSecrets(
                _secret("jenkins-admin"), _secret("paas-admin"), _secret("db-admin")),
                paas_domain=domain, database_host="10.0.0.100",
                data_device="/dev/disk/by-id/virtio-0123456789abcdef0123")
            for p in places(Role.JENKINS, 1)]
    secrets = DatabaseSecrets(_secret("db-root"), _secret("db-sst"), _secret("db-check"),
                              _secret("db-app"), _secret("db-admin"))
    out += [database_context(cfg, names, p, database_addresses=databases, paas_addresses=paas,
                             etcd_tls=tls, galera_tls=tls, secrets=secrets,
                             data_device=f"/dev/disk/by-id/virtio-{p.index:020d}")
            for p in places(Role.DATABASE, cfg.database.node.size)]
    lb = cfg.database.load_balancer.node
    # Rendered in every stack: the role must be valid wherever it runs.
    out += [database_lb_context(cfg, names, p, database_addresses=databases,
                                paas_addresses=paas, etcd_tls=tls,
                                vip_address=database_vip_address(cidr),
                                subnet_prefix_len=cidr.prefixlen)
            for p in places(Role.DB_LB, lb.size if lb else 1)]
    assert {c.node.role for c in out} <= set(ROLES)
    return out


def rendered(stack: str) -> list[RenderedNode]:
    return [RenderedNode(stack, c, render_cloud_config(c)) for c in contexts(stack)]


ALL_NODES = [n for s in STACKS for n in rendered(s)]


def node_id(n: RenderedNode) -> str:
    return n.name


# --- our own check: Flatcar ignores dashed keys that the validator lets pass ---


def dashed_keys(doc: dict[str, Any]) -> list[str]:
    """Keys with a dash where coreos-cloudinit reads only underscores (since its yaml.v3 switch)."""
    found: list[str] = []

    def check(where: str, mapping: Any) -> None:
        if isinstance(mapping, dict):
            found.extend(f"{where}.{k}" for k in mapping if "-" in str(k))

    check("", doc)
    coreos = doc.get("coreos") or {}
    check("coreos", coreos)
    check("coreos.update", coreos.get("update"))
    for i, unit in enumerate(coreos.get("units") or []):
        check(f"coreos.units[{i}]", unit)
        for j, drop_in in enumerate((unit or {}).get("drop_ins") or []):
            check(f"coreos.units[{i}].drop_ins[{j}]", drop_in)
    for i, user in enumerate(doc.get("users") or []):
        check(f"users[{i}]", user)
    for i, entry in enumerate(doc.get("write_files") or []):
        check(f"write_files[{i}]", entry)
    return found


# --- external validators ---


def cloud_config_validator() -> str | None:
    """The toolchain's build of the Container Linux validator (mk/toolchain.mk, `make setup`)."""
    path = os.environ.get("PAASMAS_CLOUD_CONFIG_VALIDATE")
    if not path:
        path = subprocess.run(
            ["bash", "-c", "source toolchain/env.sh >/dev/null 2>&1; "
             "printf %s \"$PAASMAS_CLOUD_CONFIG_VALIDATE\""],
            cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()
    return path if path and os.access(path, os.X_OK) else None


# What Flatcar itself provides, stubbed in a fake root so `systemd-analyze verify` resolves it.
OS_UNITS = {
    "docker.service": "[Service]\nExecStart=/usr/bin/docker\n",
    "containerd.service": "[Service]\nExecStart=/usr/bin/containerd\n",
    "sshd.socket": "[Socket]\nListenStream=22\nAccept=yes\n",
    # flatcar/scripts app-admin/etcd-wrapper files/etcd-member.service (shape, not every line).
    "etcd-member.service": (
        "[Unit]\nDescription=etcd (System Application Container)\nWants=network-online.target\n"
        "After=network-online.target\n[Service]\nType=notify\nRestart=always\n"
        "Environment=ETCD_USER=etcd\nEnvironment=ETCD_DATA_DIR=/var/lib/etcd\n"
        "ExecStart=/usr/lib/flatcar/etcd-wrapper $ETCD_OPTS\n"
        "ExecStop=/usr/bin/docker stop etcd-member\n[Install]\nWantedBy=multi-user.target\n"),
}
OS_EXECUTABLES = (
    "/usr/bin/docker", "/usr/bin/containerd", "/usr/bin/install", "/usr/bin/chown",
    "/usr/bin/env", "/usr/bin/mkdir", "/usr/bin/ln", "/usr/bin/tar", "/usr/sbin/modprobe",
    "/usr/lib/flatcar/etcd-wrapper",
    # Not the OS's, but fetched at boot by paasmas-k3s-install (a pinned download, not user data).
    "/opt/bin/k3s",
)


def fake_root(node: RenderedNode, root: Path) -> list[str]:
    """Write the node's files and units into `root` like coreos-cloudinit would; return the units
    (and drop-ins' units) to verify."""
    shutil.copytree("/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for name, text in OS_UNITS.items():
        (root / "usr/lib/systemd/system" / name).write_text(text)
    for path in OS_EXECUTABLES:
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("#!/bin/sh\n")
        target.chmod(0o755)
    for path, entry in node.files().items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(entry["content"])
        target.chmod(int(entry.get("permissions", "0644"), 8))
    names = []
    unit_dir = root / "etc/systemd/system"
    unit_dir.mkdir(parents=True, exist_ok=True)
    for unit in node.units():
        if "content" in unit:
            (unit_dir / unit["name"]).write_text(unit["content"])
        for drop_in in unit.get("drop_ins") or []:
            d = unit_dir / f"{unit['name']}.d"
            d.mkdir(exist_ok=True)
            (d / drop_in["name"]).write_text(drop_in["content"])
        if "content" in unit or unit.get("drop_ins"):
            names.append(unit["name"])
    return names


def systemd_verify(root: Path, unit: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", "verify", f"--root={root}", "--man=no", unit],
                          capture_output=True, text=True, check=False, timeout=60)


def shell_scripts(node: RenderedNode) -> dict[str, str]:
    """write_files entries that are shell scripts (a sh shebang, or a sourced *.sh library)."""
    return {path: e["content"] for path, e in node.files().items()
            if path.endswith(".sh") or e["content"].startswith(("#!/bin/sh", "#!/bin/bash",
                                                                 "#!/usr/bin/env bash"))}
