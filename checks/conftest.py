"""Host checks after provisioning: hosts come from the stack outputs, SSH goes through the
bastion (paramiko with ProxyCommand), checks of different hosts run in parallel (pytest-xdist,
one group per host). See docs/hostchecks.md.

    pytest checks --outputs outputs.json --ssh-identity ~/.ssh/id_ed25519 -n 4
    pytest checks --stack dev ...          # runs `pulumi stack output --json --show-secrets`
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko  # type: ignore[import-untyped]
import pytest
import testinfra.host
from testinfra.backend.paramiko import ParamikoBackend

# Run as `pytest checks`, the repository root is not on sys.path; the output names live there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checks.inventory import Inventory, Node, connect_name, ssh_config
from components.roles import Role, port

OUTPUTS_KEY = "paasmas_outputs"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("paasmas", "PaaSmas host checks")
    group.addoption("--outputs", help="stack outputs as JSON (pulumi stack output --json "
                    "--show-secrets)")
    group.addoption("--stack", help="read the outputs of this Pulumi stack instead")
    group.addoption("--ssh-identity", default=os.environ.get(
        "PAASMAS_SSH_IDENTITY", str(Path("~/.ssh/id_ed25519").expanduser())),
        help="private key of the stack's keypair")
    group.addoption("--known-hosts", default=os.environ.get(
        "PAASMAS_KNOWN_HOSTS", str(Path("~/.ssh/known_hosts").expanduser())),
        help="known_hosts with the nodes' host keys")
    group.addoption("--accept-new-host-keys", action="store_true",
                    help="trust host keys not yet known (first contact), never changed ones")
    group.addoption("--max-disk-use", type=int, default=90, help="percent, per file system")
    group.addoption("--min-memory-available", type=float, default=0.10, help="fraction")
    group.addoption("--max-clock-offset", type=float, default=1.0,
                    help="seconds between a host's clock and this machine's")
    group.addoption("--haproxy-stats-url",
                    default=f"http://127.0.0.1:{port(Role.DB_LB, 'stats')}/stats;csv")


def _outputs_from_stack(stack: str) -> Path:
    run = subprocess.run(["pulumi", "stack", "output", "--json", "--show-secrets",
                          "--stack", stack], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise pytest.UsageError(f"pulumi stack output --stack {stack} failed: {run.stderr}")
    handle, name = tempfile.mkstemp(prefix="paasmas-outputs-", suffix=".json")
    with os.fdopen(handle, "w") as f:  # mkstemp: mode 0600, the outputs hold secrets
        f.write(run.stdout)
    return Path(name)


def pytest_configure(config: pytest.Config) -> None:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None:
        path = Path(workerinput[OUTPUTS_KEY])
    elif config.getoption("--stack"):
        path = _outputs_from_stack(config.getoption("--stack"))
        config.add_cleanup(lambda: path.unlink(missing_ok=True))  # it holds secrets
    elif config.getoption("--outputs"):
        path = Path(config.getoption("--outputs"))
    else:
        raise pytest.UsageError("say which platform to check: --outputs FILE or --stack NAME")
    try:
        config.stash[_PLATFORM] = Inventory.from_file(path)
    except ValueError as error:
        # One line naming the file and what is wrong with it (pytest exits 4, nothing runs).
        raise pytest.UsageError(str(error)) from None
    config.stash[_OUTPUTS_PATH] = path


_PLATFORM = pytest.StashKey[Inventory]()
_OUTPUTS_PATH = pytest.StashKey[Path]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker reads the same outputs file (the stack is queried once)."""
    node.workerinput[OUTPUTS_KEY] = str(node.config.stash[_OUTPUTS_PATH])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "node" in metafunc.fixturenames:
        platform = metafunc.config.stash[_PLATFORM]
        role = getattr(metafunc.module, "ROLE", None)  # None: every host
        nodes = platform.nodes(role)
        metafunc.parametrize("node", nodes, ids=[n.name for n in nodes])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One xdist group per host: its checks share one SSH connection; hosts run in parallel.
    for item in items:
        callspec = getattr(item, "callspec", None)
        node = callspec.params.get("node") if callspec is not None else None
        if isinstance(node, Node):
            item.add_marker(pytest.mark.xdist_group(node.name))


class CheckedParamikoBackend(ParamikoBackend):  # type: ignore[misc]
    """testinfra's paramiko backend with host keys verified against known_hosts (the stock one
    never loads them) and the connection built from our SSH configuration, ProxyCommand
    included."""

    def __init__(self, name: str, access: SshAccess) -> None:
        super().__init__(f"paramiko://{name}", ssh_config=str(access.config_path), timeout=15)
        self.access = access
        self.name = name

    @functools.cached_property
    def client(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        self.access.trust(client)
        client.connect(**self.access.connect_arguments(self.name))
        return client


class SshAccess:
    def __init__(self, platform: Inventory, config: pytest.Config, directory: Path) -> None:
        self.platform = platform
        self.identity = Path(config.getoption("--ssh-identity")).expanduser()
        self.known_hosts = Path(config.getoption("--known-hosts")).expanduser()
        self.accept_new = bool(config.getoption("--accept-new-host-keys"))
        if not self.identity.is_file():
            raise pytest.UsageError(f"no SSH private key at {self.identity} (--ssh-identity)")
        self.config_path = directory / "ssh_config"
        self.config_path.write_text(ssh_config(platform, self.identity, self.known_hosts,
                                               self.config_path, self.accept_new))
        self.hosts: dict[str, testinfra.host.Host] = {}
        # Hosts SSH could not reach in this run, with why: a dead host costs one timeout, not
        # one per check.
        self.unreachable: dict[str, str] = {}

    def trust(self, client: paramiko.SSHClient) -> None:
        if self.known_hosts.is_file():
            client.load_host_keys(str(self.known_hosts))
        client.set_missing_host_key_policy(
            paramiko.AutoAddPolicy() if self.accept_new else paramiko.RejectPolicy())

    def connect_arguments(self, name: str) -> dict[str, Any]:
        settings = paramiko.SSHConfig.from_path(str(self.config_path)).lookup(name)
        arguments: dict[str, Any] = {
            "hostname": settings["hostname"], "port": int(settings.get("port", 22)),
            "username": settings["user"], "key_filename": str(self.identity),
            "timeout": 15, "allow_agent": False, "look_for_keys": False,
        }
        if "proxycommand" in settings:
            arguments["sock"] = paramiko.ProxyCommand(settings["proxycommand"])
        return arguments

    def host(self, node: Node) -> testinfra.host.Host:
        name = connect_name(self.platform, node)
        if name not in self.hosts:
            self.hosts[name] = testinfra.host.Host(CheckedParamikoBackend(name, self))
        return self.hosts[name]

    def offered_auth_methods(self, node: Node) -> list[str]:
        """What the node's running sshd offers to a client that has not authenticated yet."""
        arguments = self.connect_arguments(connect_name(self.platform, node))
        sock = arguments.get("sock") or socket.create_connection(
            (arguments["hostname"], arguments["port"]), timeout=15)
        transport = paramiko.Transport(sock)
        try:
            transport.start_client(timeout=15)
            try:
                transport.auth_none(arguments["username"])
            except paramiko.BadAuthenticationType as offered:
                return list(offered.allowed_types)
            return ["none"]  # logged in without any credential
        finally:
            transport.close()
            transport.join(10)
            close_proxy(sock)


def close_proxy(sock: object) -> None:
    """After the transport closed (its thread stops the command): paramiko leaves the
    command's pipes open and the process unreaped."""
    if isinstance(sock, paramiko.ProxyCommand):
        for pipe in (sock.process.stdin, sock.process.stdout, sock.process.stderr):
            if pipe is not None:
                pipe.close()
        sock.process.wait()


@pytest.fixture(scope="session")
def platform(pytestconfig: pytest.Config) -> Inventory:
    return pytestconfig.stash[_PLATFORM]


@pytest.fixture(scope="session")
def ssh(platform: Inventory, pytestconfig: pytest.Config,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshAccess]:
    access = SshAccess(platform, pytestconfig, tmp_path_factory.mktemp("ssh"))
    yield access
    for host in access.hosts.values():
        backend = host.backend
        if "client" in backend.__dict__:
            transport = backend.client.get_transport()
            backend.client.close()
            if transport is not None:
                transport.join(10)
                close_proxy(transport.sock)


@pytest.fixture
def host(node: Node, ssh: SshAccess) -> testinfra.host.Host:
    name = connect_name(ssh.platform, node)
    if name in ssh.unreachable:
        pytest.fail(ssh.unreachable[name], pytrace=False)
    connected = ssh.host(node)
    try:
        connected.backend.client  # noqa: B018 (connects once per host and worker)
    except (OSError, paramiko.SSHException) as error:
        del ssh.hosts[name]
        ssh.unreachable[name] = (f"{node}: SSH through the bastion expected to connect, found "
                                 f"{type(error).__name__}: {error} (not retried in this run)")
        pytest.fail(ssh.unreachable[name], pytrace=False)
    return connected
