"""The host lab: network namespaces as the platform's hosts, each with its own sshd and its
role's services from Debian's packages, configured from the project's rendered user data and
running the project's own node agents (see docs/hostchecks.md).

    python -m hostlab.lab up|down|status|outputs

Every host is a network namespace on a private tenant bridge; the bastion also sits on an
"external" bridge shared with this machine, which reaches nothing else (so the checks must go
through the bastion, as on a real stack). Each process of a host runs in a private mount
namespace where the host's own directories are bind-mounted over /etc/paasmas, /etc/ssh,
/etc/mysql, /srv/data, ... : paths are the ones a real node has, and the rendered files land
exactly where the user data puts them.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ipaddress
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from components import outputs
from components.planning import etcd_client_endpoints, resource_prefix
from components.roles import Role, port
from components.userdata import DatabaseSecrets, TlsBundle
from hostlab.node_files import (
    LabHost,
    LabLayout,
    LabSecrets,
    galera_options_for_mariadb,
    parse_environment_file,
    render_host,
    replace_environment_line,
    unit_environment,
    units,
    written_files,
)

LAB_DIR = Path(os.environ.get("PAASMAS_HOSTLAB_DIR", "/var/lib/paasmas-hostlab"))

# A private range no other lab here uses (the local OpenStack's fake external net: 172.24.4.0/24).
TENANT_CIDR = ipaddress.IPv4Network("10.213.0.0/24")
EXTERNAL_CIDR = ipaddress.IPv4Network("10.213.1.0/24")
CHECKER_EXTERNAL = "10.213.1.1"  # this machine, on the external bridge
BASTION_EXTERNAL = "10.213.1.10"  # the bastion's "floating IP"
INT_BRIDGE = "pmhl-int"
EXT_BRIDGE = "pmhl-ext"
NS_PREFIX = "pmhl-"
STACK = "hostlab"
SSH_USER = "core"
APP_DATABASE = "ghost"
APP_USER = "ghost"
# Two HAProxy nodes: the database VIP has somewhere to move to.
SIZES = {Role.BASTION: 1, Role.PAAS: 3, Role.DATABASE: 3, Role.DB_LB: 2}

# Directories of a host that are its own (bind-mounted over the machine's in its processes).
HOST_PATHS = ("/etc/ssh", "/etc/paasmas", "/etc/ssl/etcd", "/etc/rancher", "/etc/mysql",
              "/etc/haproxy", "/opt/paasmas", "/srv/data", "/run/paasmas", "/run/mysqld",
              "/var/lib/etcd")
HOST_FILES = ("/etc/hosts",)
BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root", "LANG": "C.UTF-8"}
# The one substitution on database nodes: PXC runs in a container there (`docker exec`), here
# Debian's MariaDB Galera runs on the host itself.
LAB_MYSQL_CMD = "mariadb"
# etcd 3.4's v3 JSON gateway lives under /v3 (3.5 also accepts it there).
ETCD_WRAPPER_ONLY = ("ETCD_IMAGE", "ETCD_SSL_DIR")  # read by Flatcar's etcd wrapper, not etcd


def log(message: str) -> None:
    print(f"hostlab: {message}", file=sys.stderr, flush=True)


def sh(*argv: str, check: bool = True, capture: bool = False,
       input_text: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=check, text=True, input=input_text, timeout=timeout,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)


@dataclass
class HostLab:
    lab_dir: Path = LAB_DIR
    layout: LabLayout = field(default_factory=lambda: LabLayout(
        STACK, resource_prefix("paasmas", STACK), TENANT_CIDR, SIZES, ssh_user=SSH_USER,
        app_database=APP_DATABASE, app_user=APP_USER))

    # ---- where things are -------------------------------------------------------------------
    def host(self, key: str) -> LabHost:
        for h in self.layout.hosts():
            if h.key == key:
                return h
        raise KeyError(f"no lab host {key!r}; hosts: {[h.key for h in self.layout.hosts()]}")

    def hosts(self, role: Role | None = None) -> tuple[LabHost, ...]:
        return self.layout.hosts(role)

    def namespace(self, host: LabHost) -> str:
        return f"{NS_PREFIX}{host.key}"

    def host_dir(self, host: LabHost) -> Path:
        return self.lab_dir / "hosts" / host.key

    def root(self, host: LabHost) -> Path:
        """The host's own files: `root/etc/paasmas/...` is its /etc/paasmas/..."""
        return self.host_dir(host) / "root"

    def pid_file(self, host: LabHost, service: str) -> Path:
        return self.host_dir(host) / "pids" / f"{service}.pid"

    def log_file(self, host: LabHost, service: str) -> Path:
        return self.host_dir(host) / "logs" / f"{service}.log"

    @property
    def outputs_file(self) -> Path:
        return self.lab_dir / "outputs.json"

    @property
    def ssh_key(self) -> Path:
        return self.lab_dir / "ssh" / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.lab_dir / "ssh" / "known_hosts"

    # ---- running things inside a host ----------------------------------------------------------
    def _enter(self, host: LabHost, argv: Sequence[str],
               extra_binds: Sequence[tuple[str, str]] = ()) -> list[str]:
        root = self.root(host)
        binds = [(str(root) + p, p) for p in HOST_PATHS + HOST_FILES] + list(extra_binds)
        script = "set -e\n" + "".join(
            f"mount --bind {shlex.quote(src)} {shlex.quote(dst)}\n" for src, dst in binds
        ) + f"hostname {shlex.quote(host.hostname)}\nexec \"$@\"\n"
        return ["ip", "netns", "exec", self.namespace(host), "unshare", "--mount", "--uts",
                "--propagation", "private", "/bin/sh", "-c", script, "sh", *argv]

    def run(self, host: LabHost, argv: Sequence[str], env: Mapping[str, str] | None = None,
            input_text: str | None = None, timeout: float = 60,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command as `host` (its network, files and hostname) and wait for it."""
        result = subprocess.run(self._enter(host, argv), env={**BASE_ENV, **(env or {})},
                                text=True, input=input_text, capture_output=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"{host.key}: {' '.join(argv)} exited {result.returncode}: "
                               f"{result.stderr.strip()[-2000:]}")
        return result

    def start(self, host: LabHost, service: str, argv: Sequence[str],
              env: Mapping[str, str] | None = None,
              extra_binds: Sequence[tuple[str, str]] = ()) -> int:
        """Start a long-running service of `host`; its PID (the daemon's own, thanks to exec)
        goes to pids/<service>.pid, its output to logs/<service>.log."""
        if self.running(host, service):
            raise RuntimeError(f"{host.key}: {service} already runs")
        self.log_file(host, service).parent.mkdir(parents=True, exist_ok=True)
        self.pid_file(host, service).parent.mkdir(parents=True, exist_ok=True)
        # Started from a shell that exits at once: the daemon is not our child (no zombie, no
        # Popen left running), and `$!` is its PID thanks to the exec chain of _enter.
        launcher = ('log=$1; shift; "$@" >>"$log" 2>&1 </dev/null & echo $!')
        started = subprocess.run(
            ["/bin/sh", "-c", launcher, "sh", str(self.log_file(host, service)),
             *self._enter(host, argv, extra_binds)],
            env={**BASE_ENV, **(env or {})}, capture_output=True, text=True, check=True,
            start_new_session=True, timeout=30)
        pid = int(started.stdout)
        self.pid_file(host, service).write_text(f"{pid}\n")
        self.wait(lambda: self._pid_in_host(host, pid) or self._gone(pid), 10,
                  f"{host.key}: {service} started")
        return pid

    @staticmethod
    def _gone(pid: int) -> bool:
        """The process has exited (a one-shot that is already done), reaped or not."""
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except (OSError, IndexError):
            return True

    def _namespace_inode(self, host: LabHost) -> int | None:
        path = Path("/run/netns") / self.namespace(host)
        return path.stat().st_ino if path.exists() else None

    def _pid_in_host(self, host: LabHost, pid: int) -> bool:
        """True when `pid` lives and belongs to this host's network namespace (so a recycled
        PID of some other process is never signalled)."""
        try:
            return os.stat(f"/proc/{pid}/ns/net").st_ino == self._namespace_inode(host)
        except OSError:
            return False

    def pid(self, host: LabHost, service: str) -> int | None:
        try:
            pid = int(self.pid_file(host, service).read_text())
        except (OSError, ValueError):
            return None
        return pid if self._pid_in_host(host, pid) else None

    def running(self, host: LabHost, service: str) -> bool:
        return self.pid(host, service) is not None

    def stop(self, host: LabHost, service: str, sig: int = signal.SIGTERM,
             timeout: float = 30) -> None:
        pid = self.pid(host, service)
        if pid is not None:
            os.kill(pid, sig)
            deadline = time.monotonic() + timeout
            while self._pid_in_host(host, pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if self._pid_in_host(host, pid):
                os.kill(pid, signal.SIGKILL)
                while self._pid_in_host(host, pid):
                    time.sleep(0.05)
        self.pid_file(host, service).unlink(missing_ok=True)

    def cut_link(self, host: LabHost) -> None:
        sh("ip", "-n", self.namespace(host), "link", "set", "eth0", "down")

    def restore_link(self, host: LabHost) -> None:
        sh("ip", "-n", self.namespace(host), "link", "set", "eth0", "up")

    # ---- host files ---------------------------------------------------------------------------
    def read(self, host: LabHost, path: str) -> str:
        return (self.root(host) / path.lstrip("/")).read_text()

    def write(self, host: LabHost, path: str, text: str, mode: int = 0o644) -> None:
        target = self.root(host) / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(mode)

    def environment(self, host: LabHost, path: str) -> dict[str, str]:
        return parse_environment_file(self.read(host, path))

    # ---- life cycle ---------------------------------------------------------------------------
    def namespaces(self) -> list[str]:
        listed = sh("ip", "netns", "list", capture=True).stdout.split("\n")
        return [line.split()[0] for line in listed if line.startswith(NS_PREFIX)]

    def is_up(self) -> bool:
        expected = {self.namespace(h) for h in self.hosts()}
        return expected <= set(self.namespaces()) and all(
            self.running(h, "sshd") for h in self.hosts()) and self.outputs_file.exists()

    def _pids(self, namespace: str) -> list[int]:
        return [int(p) for p in sh("ip", "netns", "pids", namespace, capture=True).stdout.split()]

    def _signal_all(self, namespaces: Sequence[str], sig: int) -> None:
        for namespace in namespaces:
            for pid in self._pids(namespace):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)

    def down(self) -> None:
        """Stop everything that runs in the lab's namespaces (found by namespace, never by
        name: this machine runs its own MariaDB), then remove namespaces and links."""
        started = time.monotonic()
        # Written last by `up`, once healthy: without it the lab is not up.
        self.outputs_file.unlink(missing_ok=True)
        namespaces = self.namespaces()
        self._signal_all(namespaces, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(self._pids(n) for n in namespaces):
            time.sleep(0.1)
        self._signal_all(namespaces, signal.SIGKILL)
        while any(self._pids(n) for n in namespaces):
            time.sleep(0.05)
        for namespace in namespaces:
            sh("ip", "netns", "delete", namespace)
        # Veth ends outside go with their namespace, sometimes a moment later.
        links = sh("ip", "-o", "link", "show", capture=True).stdout.splitlines()
        for name in (line.split(":")[1].strip().split("@")[0] for line in links):
            if name.startswith("pmhl"):
                sh("ip", "link", "delete", name, check=False, capture=True)
        log(f"down in {time.monotonic() - started:.1f}s")

    def up(self, force: bool = False) -> None:
        if self.is_up() and not force:
            log(f"already up ({len(self.hosts())} hosts); `down` first to rebuild")
            return
        started = time.monotonic()
        self.down()
        self._prepare_machine()
        secrets = self._secrets()
        for host in self.hosts():
            self._materialise(host, secrets)
        self._network()
        for host in self.hosts():
            self.start_sshd(host)
        for host in self.hosts(Role.PAAS):
            self.start_etcd(host)
        self.wait(lambda: all(self.etcd_healthy(h) for h in self.hosts(Role.PAAS)), 30,
                  "etcd members healthy")
        log(f"etcd healthy at {time.monotonic() - started:.1f}s")
        first, *others = self.hosts(Role.DATABASE)
        self.start_database(first)
        self.wait(lambda: self.wsrep_status(first) == "Synced Primary", 60,
                  f"{first.key} Synced and Primary")
        self.wait(lambda: first.address in self.discovery_members(first), 30,
                  f"{first.key} registered in etcd")
        for host in others:
            self.start_database(host)
        self.wait(lambda: all(self.wsrep_status(h) == "Synced Primary" for h in others), 120,
                  "every database node Synced and Primary")
        log(f"Galera synced at {time.monotonic() - started:.1f}s")
        for host in self.hosts(Role.DB_LB):
            self.start_haproxy(host)
        self.wait(self.healthy, 60, "every service healthy")
        self.write_outputs()
        log(f"up in {time.monotonic() - started:.1f}s; outputs: {self.outputs_file}")

    @staticmethod
    def wait(predicate: Callable[[], object], timeout: float, what: str) -> float:
        """Seconds until `predicate()` holds (errors count as not yet); TimeoutError after
        `timeout` seconds."""
        started = time.monotonic()
        while True:
            try:
                if predicate():
                    return time.monotonic() - started
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"hostlab: waited {timeout:.0f}s for {what}")
            time.sleep(0.3)

    def _prepare_machine(self) -> None:
        for binary in ("/usr/sbin/sshd", "/usr/bin/etcd", "/usr/sbin/mariadbd",
                       "/usr/lib/galera/libgalera_smm.so", "/usr/sbin/haproxy", "/usr/bin/socat",
                       "/usr/bin/curl", "/usr/bin/rsync", "/usr/bin/openssl", "/usr/bin/sudo"):
            if not Path(binary).exists():
                raise SystemExit(f"hostlab: {binary} is missing (make hosts-packages installs it)")
        # Mount points for the hosts' own directories (empty on this machine).
        for path in HOST_PATHS:
            Path(path).mkdir(parents=True, exist_ok=True)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        # The login user of the platform's nodes (Flatcar's `core`): no password (not locked,
        # so sshd without PAM accepts its keys), passwordless sudo as on Flatcar.
        if sh("id", SSH_USER, check=False, capture=True).returncode != 0:
            sh("useradd", "--create-home", "--shell", "/bin/bash", SSH_USER)
        sh("usermod", "-p", "*", SSH_USER)
        sudoers = Path("/etc/sudoers.d/paasmas-hostlab")
        sudoers.write_text(f"{SSH_USER} ALL=(ALL) NOPASSWD: ALL\n")
        sudoers.chmod(0o440)
        for sub in ("hosts", "ssh", "pki"):
            (self.lab_dir / sub).mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.lab_dir / "hosts")

    def _network(self) -> None:
        """Two bridges: the tenant network (no address on this machine) and an external one
        where this machine meets the bastion's floating address only."""
        sh("ip", "link", "add", INT_BRIDGE, "type", "bridge")
        sh("ip", "link", "add", EXT_BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{CHECKER_EXTERNAL}/{EXTERNAL_CIDR.prefixlen}", "dev", EXT_BRIDGE)
        for bridge in (INT_BRIDGE, EXT_BRIDGE):
            sh("ip", "link", "set", bridge, "up")
        for number, host in enumerate(self.hosts()):
            namespace = self.namespace(host)
            sh("ip", "netns", "add", namespace)
            sh("ip", "-n", namespace, "link", "set", "lo", "up")
            links = [("eth0", INT_BRIDGE, f"{host.address}/{TENANT_CIDR.prefixlen}")]
            if host.role is Role.BASTION:
                links.append(("eth1", EXT_BRIDGE, f"{BASTION_EXTERNAL}/{EXTERNAL_CIDR.prefixlen}"))
            for device, bridge, address in links:
                outside = f"pmhl-{number}-{device[-1]}"
                sh("ip", "link", "add", outside, "type", "veth", "peer", "name", f"{outside}p")
                sh("ip", "link", "set", f"{outside}p", "netns", namespace, "name", device)
                sh("ip", "link", "set", outside, "master", bridge, "up")
                sh("ip", "-n", namespace, "addr", "add", address, "dev", device)
                sh("ip", "-n", namespace, "link", "set", device, "up")

    # ---- keys and certificates ----------------------------------------------------------------
    def _certificate(self, name: str, common_name: str, ips: Sequence[str],
                     server: bool) -> TlsBundle:
        pki = self.lab_dir / "pki"
        ca_key, ca_cert = pki / "ca-key.pem", pki / "ca.pem"
        if not ca_cert.exists():
            sh("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
               "-out", str(ca_key), capture=True)
            sh("openssl", "req", "-x509", "-new", "-key", str(ca_key), "-days", "30",
               "-subj", "/O=PaaSmas/CN=paasmas-hostlab-ca", "-out", str(ca_cert), capture=True)
        key, cert = pki / f"{name}-key.pem", pki / f"{name}.pem"
        if not cert.exists():
            sh("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
               "-out", str(key), capture=True)
            csr = pki / f"{name}.csr"
            sh("openssl", "req", "-new", "-key", str(key), "-subj",
               f"/O=PaaSmas/CN={common_name}", "-out", str(csr), capture=True)
            usage = "serverAuth,clientAuth" if server else "clientAuth"
            extensions = pki / f"{name}.ext"
            san = ",".join(f"IP:{ip}" for ip in ips)
            extensions.write_text(
                "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                f"extendedKeyUsage={usage}\n" + (f"subjectAltName={san}\n" if san else ""))
            sh("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey",
               str(ca_key), "-CAcreateserial", "-days", "30", "-extfile", str(extensions),
               "-out", str(cert), capture=True)
        return TlsBundle(ca_cert.read_text(), cert.read_text(), key.read_text())

    def _password(self, name: str) -> str:
        path = self.lab_dir / "pki" / f"{name}.password"
        if not path.exists():
            path.write_text(base64.urlsafe_b64encode(os.urandom(18)).decode())
            path.chmod(0o600)
        return path.read_text()

    def _secrets(self) -> LabSecrets:
        members = {h.hostname: self._certificate(
            h.key, h.hostname, [h.address, "127.0.0.1"], server=True)
            for h in self.hosts(Role.PAAS)}
        databases = [h.address for h in self.hosts(Role.DATABASE)]
        return LabSecrets(
            ca_cert=(self.lab_dir / "pki" / "ca.pem").read_text() if members else "",
            etcd_member=members,
            database_etcd_client=self._certificate("database-etcd-client", "database", [],
                                                   server=False),
            galera=self._certificate("galera", "galera", databases, server=True),
            database=DatabaseSecrets(
                root_password=self._password("db-root"), sst_password=self._password("db-sst"),
                clustercheck_password=self._password("db-clustercheck"),
                app_password=self._password("db-app"), admin_password=self._password("db-admin")),
            k3s_token=self._password("k3s-token"),
            paas_admin_password=self._password("paas-admin"))

    # ---- a host's files from its rendered user data --------------------------------------------
    def _materialise(self, host: LabHost, secrets: LabSecrets) -> None:
        text = render_host(self.layout, host, secrets)
        hdir = self.host_dir(host)
        for sub in ("pids", "logs"):
            (hdir / sub).mkdir(parents=True, exist_ok=True)
        for path in HOST_PATHS:
            (self.root(host) / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        (hdir / "user-data.yaml").write_text(text)
        skipped = []
        for f in written_files(text):
            if any(f.path.startswith(p + "/") for p in HOST_PATHS):
                self.write(host, f.path, f.content, f.permissions)
            else:
                skipped.append(f.path)
        (hdir / "not-materialised.txt").write_text("".join(f"{p}\n" for p in skipped))
        self._etc_hosts(host)
        self._sshd_files(host)
        if host.role is Role.PAAS:
            etcd = unit_environment(units(text)["etcd-member.service"])
            self.write(host, "/etc/paasmas/lab/etcd.env", "".join(
                f"{k}={v}\n" for k, v in etcd.items() if k not in ETCD_WRAPPER_ONLY))
        if host.role is Role.DATABASE:
            self._database_files(host)
        if host.role is Role.DB_LB:
            self._haproxy_files(host)

    def _etc_hosts(self, host: LabHost) -> None:
        lines = ["127.0.0.1 localhost"] + [f"{h.address} {h.hostname}" for h in self.hosts()]
        self.write(host, "/etc/hosts", "\n".join(lines) + "\n")

    def _sshd_files(self, host: LabHost) -> None:
        keys = self.lab_dir / "ssh"
        if not self.ssh_key.exists():
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "paasmas-hostlab",
               "-f", str(self.ssh_key))
        host_key = keys / f"host-{host.key}"
        if not host_key.exists():
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.hostname,
               "-f", str(host_key))
        self.write(host, "/etc/ssh/ssh_host_ed25519_key", host_key.read_text(), 0o600)
        self.write(host, "/etc/ssh/ssh_host_ed25519_key.pub",
                   Path(f"{host_key}.pub").read_text())
        self.write(host, f"/etc/ssh/authorized_keys/{SSH_USER}",
                   Path(f"{self.ssh_key}.pub").read_text())
        # The machine-level part of the node's sshd_config (Flatcar's own file); the rendered
        # /etc/ssh/sshd_config.d/*.conf come first, so the platform's settings win.
        self.write(host, "/etc/ssh/sshd_config", "\n".join([
            "Include /etc/ssh/sshd_config.d/*.conf",
            "Port 22",
            "HostKey /etc/ssh/ssh_host_ed25519_key",
            "AuthorizedKeysFile /etc/ssh/authorized_keys/%u",
            f"PidFile {self.host_dir(host)}/sshd.pid",
            # No PAM here (no login sessions on this machine's PAM stack).
            "UsePAM no",
            # Skip interactive start-up files of this machine's users on every command.
            "SetEnv SHLVL=1",
            "Subsystem sftp internal-sftp",
            "",
        ]))

    def _database_files(self, host: LabHost) -> None:
        env_text = self.read(host, "/etc/paasmas/database.env")
        self.write(host, "/etc/paasmas/database.env",
                   replace_environment_line(env_text, "MYSQL_CMD", LAB_MYSQL_CMD), 0o600)
        pxc = self.environment(host, "/etc/paasmas/pxc/pxc.env")
        provider_ssl = ("socket.ssl_cert=/etc/paasmas/pxc/certs/server-cert.pem;"
                        "socket.ssl_key=/etc/paasmas/pxc/certs/server-key.pem;"
                        "socket.ssl_ca=/etc/paasmas/pxc/certs/ca.pem")
        options, translated = galera_options_for_mariadb(
            self.read(host, "/etc/paasmas/pxc/paasmas.cnf"), provider_ssl)
        for line in translated:
            log(f"{host.key}: {line}")
        # The container mounts paasmas.cnf as /etc/mysql/conf.d/paasmas.cnf; the image's own
        # settings (Galera provider, cluster name from CLUSTER_NAME, row binlog) are my.cnf.
        self.write(host, "/etc/mysql/conf.d/paasmas.cnf", options)
        self.write(host, "/etc/mysql/my.cnf", "\n".join([
            "[client-server]",
            "socket = /run/mysqld/mysqld.sock",
            "[mysqld]",
            "user = mysql",
            "datadir = /srv/data/mysql",
            "pid-file = /run/mysqld/mysqld.pid",
            "bind-address = 0.0.0.0",
            "port = 3306",
            "skip-name-resolve",
            "innodb_buffer_pool_size = 64M",
            "performance_schema = OFF",
            "binlog_format = ROW",
            "default_storage_engine = InnoDB",
            "innodb_autoinc_lock_mode = 2",
            "wsrep_on = ON",
            "wsrep_provider = /usr/lib/galera/libgalera_smm.so",
            f"wsrep_cluster_name = {pxc['CLUSTER_NAME']}",
            "wsrep_sst_method = rsync",
            "!includedir /etc/mysql/conf.d/",
            "",
        ]))

    def _haproxy_files(self, host: LabHost) -> None:
        env_text = self.read(host, "/etc/paasmas/db-lb.env")
        # HAProxy runs on the host here, not in a container: check with the same binary,
        # reload by signalling the master (what `docker kill --signal USR2` does).
        env_text = replace_environment_line(env_text, "HAPROXY_CHECK_CMD",
                                            "/usr/sbin/haproxy -c -f")
        self.write(host, "/etc/paasmas/db-lb.env", env_text, 0o600)

    # ---- services -----------------------------------------------------------------------------
    def start_sshd(self, host: LabHost) -> None:
        self.start(host, "sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config"])

    def start_etcd(self, host: LabHost) -> None:
        env = self.environment(host, "/etc/paasmas/lab/etcd.env")
        env["ETCD_DATA_DIR"] = "/var/lib/etcd"
        # Flatcar's wrapper mounts ETCD_SSL_DIR (/etc/ssl/etcd) at /etc/ssl/certs for etcd.
        self.start(host, "etcd-member", ["/usr/bin/etcd"], env,
                   extra_binds=[(str(self.root(host) / "etc/ssl/etcd"), "/etc/ssl/certs")])

    def etcd_curl(self, host: LabHost, path: str, body: str | None = None,
                  member: LabHost | None = None) -> str:
        """A request to etcd's JSON gateway from `host`, with that host's client certificate."""
        target = member or host
        if host.role is Role.PAAS:
            tls = ["--cacert", "/etc/ssl/etcd/ca.pem", "--cert", "/etc/ssl/etcd/member.pem",
                   "--key", "/etc/ssl/etcd/member-key.pem"]
        else:
            tls = ["--cacert", "/etc/paasmas/etcd/ca.pem", "--cert",
                   "/etc/paasmas/etcd/client.pem", "--key", "/etc/paasmas/etcd/client-key.pem"]
        argv = ["curl", "-sS", "--fail", "--max-time", "3", *tls]
        if body is not None:
            argv += ["-X", "POST", "-H", "Content-Type: application/json", "--data", body]
        url = f"https://{target.address}:{port(Role.PAAS, 'etcd-client')}{path}"
        return self.run(host, [*argv, url], timeout=10).stdout

    def etcd_healthy(self, host: LabHost) -> bool:
        return '"health":"true"' in self.etcd_curl(host, "/health")

    def database_env(self, host: LabHost) -> dict[str, str]:
        return self.environment(host, "/etc/paasmas/database.env")

    def discovery_members(self, host: LabHost) -> list[str]:
        """The live members as the project's agent reads them."""
        out = self.run(host, ["/opt/paasmas/bin/paasmas-db-discovery", "members"],
                       self.database_env(host)).stdout
        return out.split()

    def wsrep_status(self, host: LabHost) -> str:
        env = self.database_env(host)
        return self.run(host, ["sh", "-c", '. "$0"; paasmas_wsrep_status',
                               "/opt/paasmas/bin/paasmas-lib.sh"], env, check=False).stdout.strip()

    def start_database(self, host: LabHost) -> None:
        """What paasmas-pxc.service does: the discovery agent decides join or bootstrap
        (ExecStartPre write-env), then the server starts with that cluster address, and the
        node's agents run beside it."""
        env = self.database_env(host)
        # paasmas-pxc.service's ExecStartPre, with Debian's `mysql` user for the image's 1001.
        self.run(host, ["/usr/bin/install", "-d", "-m", "0750", "-o", "mysql", "-g", "mysql",
                        "/srv/data/mysql", "/run/mysqld"])
        self.run(host, ["chown", "-R", "mysql:mysql", "/etc/paasmas/pxc"])
        started = self.run(host, ["/opt/paasmas/bin/paasmas-db-discovery", "write-env",
                                  "/run/paasmas/pxc-cluster.env"], env, check=False)
        with self.log_file(host, "paasmas-db-discovery-write-env").open("a") as f:
            f.write(started.stderr)
        if started.returncode != 0:
            raise RuntimeError(f"{host.key}: discovery write-env failed: {started.stderr}")
        join = self.environment(host, "/run/paasmas/pxc-cluster.env")["CLUSTER_JOIN"]
        fresh = not (self.root(host) / "srv/data/mysql/mysql").exists()
        if fresh and not join:
            self._initialise_datadir(host)
        self.start(host, "paasmas-pxc", ["/usr/sbin/mariadbd",
                                         f"--wsrep-cluster-address=gcomm://{join}"])
        if fresh and not join:
            self.wait(lambda: self.run(host, ["mariadb", "-e", "SELECT 1"],
                                       check=False).returncode == 0, 60, f"{host.key} socket")
            self._entrypoint_accounts(host)
        for service in ("paasmas-db-discovery", "paasmas-clustercheck", "paasmas-db-accounts"):
            if not self.running(host, service):
                self.start_database_agent(host, service)

    def start_database_agent(self, host: LabHost, service: str) -> None:
        env = self.database_env(host)
        if service == "paasmas-db-discovery":
            self.start(host, service, ["/opt/paasmas/bin/paasmas-db-discovery", "register"], env)
        elif service == "paasmas-clustercheck":
            # paasmas-clustercheck.socket (Accept=yes): one script run per connection.
            self.start(host, service, [
                "socat",
                f"TCP-LISTEN:{port(Role.DATABASE, 'clustercheck')},fork,reuseaddr,backlog=32",
                "EXEC:/opt/paasmas/bin/paasmas-clustercheck"], env)
        elif service == "paasmas-db-accounts":
            self.start(host, service, ["/opt/paasmas/bin/paasmas-db-accounts"],
                       {**env, "WAIT_SECONDS": "600"})
        else:
            raise ValueError(service)

    def _initialise_datadir(self, host: LabHost) -> None:
        self.run(host, ["mariadb-install-db", "--user=mysql", "--datadir=/srv/data/mysql",
                        "--skip-test-db", "--auth-root-authentication-method=socket",
                        "--wsrep-on=OFF"],
                 timeout=120)

    def _entrypoint_accounts(self, host: LabHost) -> None:
        """What the PXC image's entrypoint does on a new cluster, from pxc.env: root password,
        the application database and user, the clustercheck account."""
        pxc = self.environment(host, "/etc/paasmas/pxc/pxc.env")

        def secret(variable: str) -> str:
            return self.read(host, pxc[variable]).strip()

        def quote(value: str) -> str:
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

        database, user = pxc["MYSQL_DATABASE"], pxc["MYSQL_USER"]
        sql = "\n".join([
            f"CREATE DATABASE IF NOT EXISTS `{database}`;",
            f"CREATE USER IF NOT EXISTS {quote(user)}@'%' "
            f"IDENTIFIED BY {quote(secret('MYSQL_PASSWORD_FILE'))};",
            f"GRANT ALL PRIVILEGES ON `{database}`.* TO {quote(user)}@'%';",
            "CREATE USER IF NOT EXISTS 'clustercheck'@'localhost' "
            f"IDENTIFIED BY {quote(secret('CLUSTERCHECK_PASSWORD_FILE'))};",
            "GRANT PROCESS ON *.* TO 'clustercheck'@'localhost';",
            f"ALTER USER 'root'@'localhost' IDENTIFIED BY "
            f"{quote(secret('MYSQL_ROOT_PASSWORD_FILE'))};",
            "",
        ])
        self.run(host, ["mariadb"], input_text=sql)

    def stop_database(self, host: LabHost) -> None:
        self.stop(host, "paasmas-pxc", timeout=60)

    def start_haproxy(self, host: LabHost) -> None:
        env = self.environment(host, "/etc/paasmas/db-lb.env")
        # paasmas-haproxy.service: a first configuration, then HAProxy in master-worker mode.
        self.run(host, ["/opt/paasmas/bin/paasmas-haproxy-agent", "sync"],
                 {**env, "HAPROXY_RELOAD_CMD": "true"})
        pid = self.start(host, "paasmas-haproxy",
                         ["/usr/sbin/haproxy", "-W", "-db", "-f", env["HAPROXY_CFG"]])
        self.start(host, "paasmas-haproxy-agent", ["/opt/paasmas/bin/paasmas-haproxy-agent",
                                                   "run"],
                   {**env, "HAPROXY_RELOAD_CMD": f"kill -USR2 {pid}"})
        self.start_vip_agent(host)

    def start_vip_agent(self, host: LabHost) -> None:
        self.start(host, "paasmas-vip-agent", ["/opt/paasmas/bin/paasmas-vip-agent", "run"],
                   self.environment(host, "/etc/paasmas/db-lb.env"))

    def vip_holders(self) -> list[str]:
        """The HAProxy hosts that have the database VIP on their interface."""
        vip = self.layout.database_vip()
        return [host.key for host in self.hosts(Role.DB_LB)
                if f" inet {vip}/" in self.run(host, ["ip", "-o", "-4", "addr", "show", "dev",
                                                       "eth0"]).stdout]

    def haproxy_servers(self, host: LabHost) -> list[str]:
        """Addresses of the `server` lines of the live HAProxy configuration."""
        cfg = self.read(host, self.environment(host, "/etc/paasmas/db-lb.env")["HAPROXY_CFG"])
        return [line.split()[2].rsplit(":", 1)[0] for line in cfg.splitlines()
                if line.strip().startswith("server ")]

    def clustercheck(self, from_host: LabHost, target: LabHost) -> str:
        return self.run(from_host, [
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3",
            f"http://{target.address}:{port(Role.DATABASE, 'clustercheck')}/"], check=False).stdout

    def healthy(self) -> bool:
        """Every service of every host answers as it should (the lab's own quick view; the
        checks are the real verdict)."""
        databases = self.hosts(Role.DATABASE)
        addresses = sorted(h.address for h in databases)
        for lb in self.hosts(Role.DB_LB):
            if sorted(self.haproxy_servers(lb)) != addresses:
                return False
            if not all(self.clustercheck(lb, h) == "200" for h in databases):
                return False
        if len(self.vip_holders()) != 1:
            return False
        return (all(self.running(h, "sshd") for h in self.hosts())
                and all(self.etcd_healthy(h) for h in self.hosts(Role.PAAS))
                and all(self.wsrep_status(h) == "Synced Primary" for h in databases)
                and sorted(self.discovery_members(databases[0])) == addresses)

    def restore(self, timeout: float = 180) -> float:
        """Undo any fault: links up, every service that should run running again (in the
        order a boot starts them), then wait until healthy. Returns the seconds it took."""
        started = time.monotonic()
        for host in self.hosts():
            self.restore_link(host)
            if not self.running(host, "sshd"):
                self.start_sshd(host)
        for host in self.hosts(Role.PAAS):
            if not self.running(host, "etcd-member"):
                self.start_etcd(host)
        for host in self.hosts(Role.DATABASE):
            if not self.running(host, "paasmas-pxc"):
                self.start_database(host)
            for service in ("paasmas-db-discovery", "paasmas-clustercheck"):
                if not self.running(host, service):
                    self.start_database_agent(host, service)
        databases = self.hosts(Role.DATABASE)
        self.wait(lambda: all(self.wsrep_status(h) == "Synced Primary" for h in databases),
                  timeout, "every database node Synced and Primary")
        for host in self.hosts(Role.DB_LB):
            if not (self.running(host, "paasmas-haproxy")
                    and self.running(host, "paasmas-haproxy-agent")):
                self.stop(host, "paasmas-vip-agent")
                self.stop(host, "paasmas-haproxy-agent")
                self.stop(host, "paasmas-haproxy")
                self.start_haproxy(host)
            elif not self.running(host, "paasmas-vip-agent"):
                self.start_vip_agent(host)
        self.wait(self.healthy, timeout, "the lab healthy again")
        return time.monotonic() - started

    def delete_discovery_key(self, host: LabHost) -> None:
        """Remove `host`'s discovery key from etcd behind its agent's back."""
        env = self.database_env(host)
        key = base64.b64encode(f"{env['DISCOVERY_PREFIX']}{host.address}".encode()).decode()
        self.etcd_curl(host, "/v3/kv/deleterange", json.dumps({"key": key}),
                       member=self.hosts(Role.PAAS)[0])

    def haproxy_states(self, host: LabHost) -> dict[str, str]:
        """Backend server -> state, as HAProxy's stats page says."""
        url = f"http://127.0.0.1:{port(Role.DB_LB, 'stats')}/stats;csv"
        text = self.run(host, ["curl", "-sS", "--fail", "--max-time", "3", url],
                        timeout=10).stdout
        states = {}
        for line in text.splitlines():
            fields = line.split(",")
            if len(fields) > 17 and fields[0] == "galera" and fields[1] not in (
                    "FRONTEND", "BACKEND"):
                states[fields[1]] = fields[17]
        return states

    # ---- what the checks get ------------------------------------------------------------------
    def write_outputs(self) -> None:
        """An outputs file shaped like `pulumi stack output --json --show-secrets`."""
        node_ips = {role.value: [h.address for h in self.hosts(role)] for role in SIZES}
        document = {
            outputs.NODE_IPS: node_ips,
            outputs.BASTION_ADDRESS: BASTION_EXTERNAL,
            outputs.SSH_USER: SSH_USER,
            outputs.ETCD_ENDPOINTS: etcd_client_endpoints(self.layout.etcd_members()),
            outputs.DATABASE_HOST: self.layout.database_vip(),
            outputs.DATABASE_PORT: port(Role.DB_LB, "mysql"),
            outputs.DATABASE_NAME: APP_DATABASE,
            outputs.DATABASE_USER: APP_USER,
            outputs.DATABASE_PASSWORD: self._password("db-app"),
            # No k3s, Drycc or Jenkins in the host lab: these point nowhere on purpose, and
            # their checks are deselected for the lab (docs/hostchecks.md).
            outputs.PAAS_DOMAIN: f"{self.layout.prefix}.invalid",
            outputs.PAAS_CONTROLLER_URL: f"http://drycc.{self.layout.prefix}.invalid",
            outputs.PAAS_BUILDER_REMOTE: f"ssh://git@drycc-builder.{self.layout.prefix}"
                                         ".invalid:2222",
            outputs.PAAS_LB_ADDRESS: "",
            outputs.JENKINS_URL: "",
            outputs.NETWORK_ID: "hostlab", outputs.SUBNET_ID: "hostlab",
            outputs.ROUTER_ID: "hostlab",
            outputs.APP_NAMES: {"production": "ghost", "staging": "stage-ghost",
                                "pull_request_prefix": "pr-"},
        }
        self.outputs_file.write_text(json.dumps(document, indent=2) + "\n")
        self.outputs_file.chmod(0o600)
        keys = []
        for host in self.hosts():
            public = (self.lab_dir / "ssh" / f"host-{host.key}.pub").read_text().split()
            names = [host.address] + ([BASTION_EXTERNAL] if host.role is Role.BASTION else [])
            keys += [f"{name} {public[0]} {public[1]}" for name in names]
        self.known_hosts.write_text("\n".join(keys) + "\n")

    def status(self) -> str:
        lines = []
        for host in self.hosts():
            services = sorted(p.stem for p in (self.host_dir(host) / "pids").glob("*.pid"))
            states = [f"{s}={'up' if self.running(host, s) else 'DOWN'}" for s in services]
            lines.append(f"{host.key:12} {host.address:14} {' '.join(states)}")
        return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hostlab", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("up", "down", "status", "outputs", "rebuild"))
    args = parser.parse_args(argv)
    lab = HostLab()
    if args.command == "up":
        lab.up()
    elif args.command == "rebuild":
        lab.up(force=True)
    elif args.command == "down":
        lab.down()
    elif args.command == "status":
        print(lab.status())
        print("healthy" if lab.is_up() and lab.healthy() else "NOT healthy")
    elif args.command == "outputs":
        print(lab.outputs_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
