"""The discovery and HAProxy agents against a real etcd (Debian's etcd-server) over mutual TLS on
loopback: leases, keys that come and go with the Galera state, and HAProxy's backend list."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.userdata import TEMPLATE_DIR, VIP_LEASE_TTL, VIP_MARGIN

pytestmark = pytest.mark.render

SCRIPTS = TEMPLATE_DIR / "scripts"
PREFIX = "/paasmas/test/db/members/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@dataclass(frozen=True)
class Etcd:
    endpoint: str
    ca: Path
    cert: Path
    key: Path

    def env(self) -> dict[str, str]:
        return {"ETCD_ENDPOINTS": f"https://127.0.0.1:9,{self.endpoint}",  # first one is down
                "ETCD_CA_FILE": str(self.ca), "ETCD_CERT_FILE": str(self.cert),
                "ETCD_KEY_FILE": str(self.key), "ETCD_TIMEOUT": "3"}


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Etcd]:
    binary = shutil.which("etcd") or ("/usr/bin/etcd" if os.path.exists("/usr/bin/etcd") else None)
    if binary is None:
        pytest.skip(reason="etcd absent: `make test-prereqs` installs Debian's etcd-server")
    d = tmp_path_factory.mktemp("etcd")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test CA", cwd=d)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "node-key.pem", "-out", "node.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n"
                               "extendedKeyUsage=serverAuth,clientAuth\n")
    _openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
             "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "node.pem", cwd=d)
    client, peer = _free_port(), _free_port()
    endpoint = f"https://127.0.0.1:{client}"
    log = (d / "etcd.log").open("w")
    process = subprocess.Popen(
        [binary, "--name", "t", "--data-dir", str(d / "data"),
         "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
         "--listen-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-cluster", f"t=http://127.0.0.1:{peer}",
         "--trusted-ca-file", str(d / "ca.pem"), "--cert-file", str(d / "node.pem"),
         "--key-file", str(d / "node-key.pem"), "--client-cert-auth"],
        stdout=log, stderr=subprocess.STDOUT)
    server = Etcd(endpoint, d / "ca.pem", d / "node.pem", d / "node-key.pem")
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
                ["curl", "-sf", "--cacert", str(server.ca), "--cert", str(server.cert),
                 "--key", str(server.key), f"{endpoint}/health"],
                capture_output=True, check=False).returncode != 0:
            assert process.poll() is None, (d / "etcd.log").read_text()
            assert time.monotonic() < deadline, "etcd did not become healthy"
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def fake_mysql(path: Path, state: str, uuid: str = "uuid-a") -> str:
    """A `mysql` that answers the status queries (SHOW GLOBAL STATUS ...) of one node."""
    path.write_text("#!/bin/sh\n"
                    'case "$*" in *wsrep_cluster_state_uuid*)\n'
                    f"  printf 'wsrep_cluster_state_uuid\\t{uuid}\\n'; exit 0;; esac\n"
                    "printf 'wsrep_cluster_status\\tPrimary\\n"
                    f"wsrep_local_state_comment\\t{state}\\n'\n")
    path.chmod(0o755)
    return str(path)


def discovery(etcd: Etcd, tmp_path: Path, address: str, command: str, *, state: str = "Synced",
              ttl: int = 15, prefix: str = PREFIX, uuid: str = "uuid-a",
              candidate: bool = False,
              etcd_reachable: bool = True) -> subprocess.CompletedProcess[str]:
    node = tmp_path / address
    (node / "data").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **etcd.env(), "DISCOVERY_PREFIX": prefix, "NODE_ADDRESS": address,
           "STATIC_PEERS": "10.0.0.1,10.0.0.2,10.0.0.3", "DATA_DIR": str(node / "data"),
           "STATE_DIR": str(node / "state"), "LEASE_TTL": str(ttl), "PEER_HEALTH_PORT": "9",
           "MYSQL_CMD": fake_mysql(node / "mysql", state, uuid),
           "BOOTSTRAP_CANDIDATE": "true" if candidate else "false"}
    if not etcd_reachable:
        env["ETCD_ENDPOINTS"] = "https://127.0.0.1:9"
    return subprocess.run([str(SCRIPTS / "paasmas-db-discovery"), command], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


def members(etcd: Etcd, tmp_path: Path) -> list[str]:
    run = discovery(etcd, tmp_path, "10.0.0.9", "members")
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


def test_keys_live_while_synced_and_go_when_not(etcd: Etcd, tmp_path: Path) -> None:
    for address in ("10.0.0.2", "10.0.0.1"):
        run = discovery(etcd, tmp_path, address, "register-once")
        assert run.returncode == 0, run.stderr
    assert members(etcd, tmp_path) == ["10.0.0.1", "10.0.0.2"]
    # A keepalive of a live lease is a no-op for the key.
    assert discovery(etcd, tmp_path, "10.0.0.1", "register-once").returncode == 0
    assert members(etcd, tmp_path) == ["10.0.0.1", "10.0.0.2"]

    joiner = discovery(etcd, tmp_path, "10.0.0.3", "cluster-address")
    assert joiner.stdout == "10.0.0.1,10.0.0.2\n", joiner.stderr

    # Desynced: the node withdraws at once (lease revoked).
    run = discovery(etcd, tmp_path, "10.0.0.2", "register-once", state="Donor/Desynced")
    assert run.returncode == 0 and "withdrew" in run.stderr, run.stderr
    assert members(etcd, tmp_path) == ["10.0.0.1"]

    # Never bootstraps while a member is alive, even where bootstrap would be allowed.
    run = discovery(etcd, tmp_path, "10.0.0.2", "cluster-address")
    assert run.stdout == "10.0.0.1\n", run.stderr


def test_key_lapses_with_its_lease_when_the_agent_stops(etcd: Etcd, tmp_path: Path) -> None:
    assert discovery(etcd, tmp_path, "10.0.0.7", "register-once", ttl=2).returncode == 0
    assert "10.0.0.7" in members(etcd, tmp_path)
    deadline = time.monotonic() + 15
    while "10.0.0.7" in members(etcd, tmp_path):
        assert time.monotonic() < deadline, "the key outlived its lease"
        time.sleep(0.5)
    # The agent notices the dead lease and registers again with a new one.
    assert discovery(etcd, tmp_path, "10.0.0.7", "register-once", ttl=2).returncode == 0
    assert "10.0.0.7" in members(etcd, tmp_path)


def test_haproxy_agent_follows_the_members(etcd: Etcd, tmp_path: Path) -> None:
    template = tmp_path / "haproxy.cfg.in"
    template.write_text("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n"
                        "    timeout server 1s\nfrontend mysql\n    bind 127.0.0.1:13306\n"
                        "    default_backend galera\nbackend galera\n    # @PAASMAS_SERVERS@\n")
    cfg, reloads = tmp_path / "haproxy.cfg", tmp_path / "reloads"
    reload = tmp_path / "reload"  # HAPROXY_RELOAD_CMD is split on spaces, never re-quoted
    reload.write_text(f"#!/bin/sh\necho >> {reloads}\n")
    reload.chmod(0o755)
    prefix = "/paasmas/haproxy-test/db/members/"
    env = {**os.environ, **etcd.env(), "DISCOVERY_PREFIX": prefix, "STATIC_PEERS": "10.1.0.1",
           "HAPROXY_TEMPLATE": str(template), "HAPROXY_CFG": str(cfg),
           "HAPROXY_CHECK_CMD": "haproxy -c -f", "HAPROXY_RELOAD_CMD": str(reload)}

    def sync() -> str:
        run = subprocess.run([str(SCRIPTS / "paasmas-haproxy-agent"), "sync"], env=env,
                             capture_output=True, text=True, timeout=60, check=False)
        assert run.returncode == 0, run.stderr
        return cfg.read_text()

    def register(address: str) -> None:
        run = discovery(etcd, tmp_path, address, "register-once", prefix=prefix)
        assert run.returncode == 0, run.stderr

    if shutil.which("haproxy") is None:
        pytest.skip(reason="haproxy absent: `make test-prereqs` installs it")
    # No live member: the static peers, and HAProxy's health checks decide.
    assert "server db-10-1-0-1 10.1.0.1:3306" in sync()
    register("10.0.0.5")
    text = sync()
    assert "server db-10-0-0-5 10.0.0.5:3306 check port 9200\n" in text
    before = reloads.read_text().count("\n")
    sync()  # unchanged: no reload
    assert reloads.read_text().count("\n") == before
    register("10.0.0.4")  # a new member: sorted first, so it becomes the writer everywhere
    text = sync()
    assert "    server db-10-0-0-4 10.0.0.4:3306 check port 9200\n" in text
    assert "    server db-10-0-0-5 10.0.0.5:3306 check port 9200 backup\n" in text
    assert reloads.read_text().count("\n") == before + 1
    # etcd unreachable: the current configuration stays.
    env["ETCD_ENDPOINTS"] = "https://127.0.0.1:9"
    assert sync() == text


# `ip` as the VIP agent uses it, on a file instead of an interface: one address a line.
FAKE_IP = """#!/bin/sh
case "$*" in
"-o -4 addr show dev "*)
    while read -r a; do echo "2: eth0    inet $a scope global eth0"; done <"$IP_STATE" ;;
"addr add "*) echo "$3" >>"$IP_STATE" ;;
"addr del "*) grep -vx "$3" "$IP_STATE" >"$IP_STATE.new" || true; mv "$IP_STATE.new" "$IP_STATE" ;;
*) echo "fake ip: $*" >&2; exit 2 ;;
esac
"""


@dataclass
class VipNode:
    """One HAProxy node's VIP agent, with its own (fake) interface and health switch."""

    etcd: Etcd
    home: Path
    address: str
    key: str
    etcd_reachable: bool = True
    # Endpoints that accept connections and never answer (a silent etcd), when set.
    silent_endpoints: str | None = None
    lease_ttl: int = 5
    margin: int = 2

    def __post_init__(self) -> None:
        (self.home / "bin").mkdir(parents=True)
        ip = self.home / "bin" / "ip"
        ip.write_text(FAKE_IP)
        ip.chmod(0o755)
        (self.home / "addresses").write_text("")
        arping = self.home / "bin" / "arping"  # records each announcement
        arping.write_text(f"#!/bin/sh\necho \"$*\" >>{self.home / 'announced'}\n")
        arping.chmod(0o755)
        self.set_healthy(True)

    def set_healthy(self, healthy: bool) -> None:
        health = self.home / "haproxy-stats"
        if healthy:
            health.write_text("galera,BACKEND\n")
        else:
            health.unlink(missing_ok=True)

    def step(self) -> subprocess.CompletedProcess[str]:
        etcd_env = self.etcd.env() if self.etcd_reachable else {
            **self.etcd.env(), "ETCD_ENDPOINTS": "https://127.0.0.1:9"}
        if self.silent_endpoints is not None:
            # The production timeout per request: a silent etcd costs the agent 5 s a request.
            etcd_env = {**etcd_env, "ETCD_ENDPOINTS": self.silent_endpoints, "ETCD_TIMEOUT": "5"}
        env = {**os.environ, **etcd_env, "PATH": f"{self.home / 'bin'}:{os.environ['PATH']}",
               "IP_STATE": str(self.home / "addresses"), "VIP_ADDRESS": "10.0.0.59",
               "VIP_PREFIX_LEN": "24", "VIP_KEY": self.key, "NODE_ADDRESS": self.address,
               "HEALTH_URL": f"file://{self.home / 'haproxy-stats'}",
               "STATE_DIR": str(self.home / "state"), "VIP_LEASE_TTL": str(self.lease_ttl),
               "VIP_MARGIN": str(self.margin)}
        (self.home / "state").mkdir(exist_ok=True)
        run = subprocess.run([str(SCRIPTS / "paasmas-vip-agent"), "step"], env=env,
                             capture_output=True, text=True, timeout=60, check=False)
        assert run.returncode == 0, run.stderr
        return run

    def holds(self) -> bool:
        return "10.0.0.59/24" in (self.home / "addresses").read_text().split()

    def announcements(self) -> list[str]:
        path = self.home / "announced"
        return path.read_text().splitlines() if path.exists() else []


def test_vip_agent_hands_the_address_to_exactly_one_healthy_node(
    etcd: Etcd, tmp_path: Path
) -> None:
    key = "/paasmas/vip-test/db-lb/vip"
    a, b = (VipNode(etcd, tmp_path / name, address, key)
            for name, address in (("a", "10.0.0.50"), ("b", "10.0.0.51")))
    assert "elected" in a.step().stderr
    b.step()
    assert (a.holds(), b.holds()) == (True, False)
    # Taking the address is announced with gratuitous ARP on the interface.
    assert a.announcements() == ["-q -U -c 2 -I eth0 10.0.0.59"]
    assert b.announcements() == []
    a.step()  # a holder's step keeps its lease and the address, announced once
    b.step()
    assert (a.holds(), b.holds()) == (True, False)
    assert len(a.announcements()) == 1

    # HAProxy on the holder stops answering: it gives the address up, the other takes it.
    a.set_healthy(False)
    assert "giving the address up" in a.step().stderr
    assert "elected" in b.step().stderr
    assert (a.holds(), b.holds()) == (False, True)
    a.set_healthy(True)
    a.step()
    assert (a.holds(), b.holds()) == (False, True)  # no flapping back

    # The holder is cut off from etcd: it drops the address at once; once its lease lapses
    # the other node is elected.
    b.etcd_reachable = False
    assert "dropping the address" in b.step().stderr
    assert not b.holds()
    deadline = time.monotonic() + 15
    while not a.holds():
        assert time.monotonic() < deadline, "nobody took the address after the lease lapsed"
        a.step()
        time.sleep(0.5)
    b.etcd_reachable = True
    b.step()
    assert (a.holds(), b.holds()) == (True, False)


@contextlib.contextmanager
def silent_endpoints(count: int) -> Iterator[str]:
    """TCP endpoints that accept connections (the kernel's backlog) and never answer: an etcd
    whose packets are dropped on the way back, not one that refuses."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sock.listen(64)
            sockets.append(sock)
        yield ",".join(f"https://127.0.0.1:{s.getsockname()[1]}" for s in sockets)
    finally:
        for sock in sockets:
            sock.close()


def test_vip_holder_drops_the_address_before_its_lease_can_lapse_when_etcd_goes_silent(
    etcd: Etcd, tmp_path: Path
) -> None:
    """The production timings (lease 10 s, margin 3 s, 5 s a request, three endpoints): before,
    a holder cut off by a silent etcd kept the address about 17 s while its lease lapsed after
    10 s, so another node could hold it too. Now it gives it up by the deadline, 7 s after the
    last renewal it sent, whatever its requests would wait."""
    node = VipNode(etcd, tmp_path / "a", "10.0.0.50", "/paasmas/vip-silent/db-lb/vip",
                   lease_ttl=VIP_LEASE_TTL, margin=VIP_MARGIN)
    assert "elected" in node.step().stderr
    last_renewal_sent = time.monotonic()  # no later than the agent's own record of it
    node.step()
    assert node.holds()
    with silent_endpoints(3) as endpoints:
        node.silent_endpoints = endpoints
        steps: list[float] = []
        while node.holds():
            started = time.monotonic()
            run = node.step()
            steps.append(time.monotonic() - started)
            assert time.monotonic() - last_renewal_sent < VIP_LEASE_TTL + 5, run.stderr
    dropped_after = time.monotonic() - last_renewal_sent
    # Dropped before the lease could lapse at etcd (>= VIP_LEASE_TTL after the renewal was
    # sent), with at least a second to spare; and no step ran past the deadline.
    assert dropped_after < VIP_LEASE_TTL - 1, (dropped_after, steps)
    assert max(steps) <= VIP_LEASE_TTL - VIP_MARGIN + 2, steps


def test_an_empty_data_directory_creates_the_cluster_once_and_never_again(
    etcd: Etcd, tmp_path: Path
) -> None:
    """Galera bootstrap that cannot split the cluster. The candidate claims the creation in
    etcd before bootstrapping; the first Synced member records the cluster's identity. Wiped
    (an empty data directory) while its peers are down, the same node waits to join, where
    before it bootstrapped a second, empty cluster that clustercheck then called healthy."""
    prefix = "/paasmas/bootstrap-test/db/members/"
    first = discovery(etcd, tmp_path / "n0", "10.0.0.1", "cluster-address", prefix=prefix,
                      candidate=True)
    assert first.stdout == "\n", first.stderr  # bootstrap: nobody else, never created
    assert "claimed the creation of the cluster" in first.stderr
    # Its bootstrap did not finish (a crash before grastate.dat): the claim is still its own.
    again = discovery(etcd, tmp_path / "n0", "10.0.0.1", "cluster-address", prefix=prefix,
                      candidate=True)
    assert again.stdout == "\n", again.stderr
    # Another node that thinks it is the candidate (a wrong setting) may not create one too.
    rival = discovery(etcd, tmp_path / "n9", "10.0.0.9", "cluster-address", prefix=prefix,
                      candidate=True)
    assert rival.stdout == "10.0.0.1,10.0.0.2,10.0.0.3\n", rival.stderr

    synced = discovery(etcd, tmp_path / "n0", "10.0.0.1", "register-once", prefix=prefix,
                       uuid="uuid-real")
    assert "recorded the cluster" in synced.stderr, synced.stderr
    discovery(etcd, tmp_path / "n0", "10.0.0.1", "register-once", prefix=prefix, ttl=2,
              state="Donor/Desynced")  # withdraws: no live member left in etcd

    # database-0 wiped (fresh directory), its peers down: it waits for them, never bootstraps.
    wiped = discovery(etcd, tmp_path / "wiped", "10.0.0.1", "cluster-address", prefix=prefix,
                      candidate=True)
    assert wiped.stdout == "10.0.0.2,10.0.0.3\n", wiped.stderr
    assert "the cluster exists" in wiped.stderr and "never bootstraps" in wiped.stderr
    # etcd unreachable: an empty directory never bootstraps without it either.
    blind = discovery(etcd, tmp_path / "blind", "10.0.0.1", "cluster-address", prefix=prefix,
                      candidate=True, etcd_reachable=False)
    assert blind.stdout == "10.0.0.2,10.0.0.3\n", blind.stderr


def test_a_node_of_another_cluster_never_registers_and_is_unhealthy(
    etcd: Etcd, tmp_path: Path
) -> None:
    prefix = "/paasmas/foreign-test/db/members/"
    assert discovery(etcd, tmp_path, "10.0.0.1", "register-once", prefix=prefix,
                     uuid="uuid-real").returncode == 0
    run = discovery(etcd, tmp_path, "10.0.0.2", "register-once", prefix=prefix,
                    uuid="uuid-split")
    assert run.returncode == 0 and "not the recorded uuid-real" in run.stderr, run.stderr
    listed = discovery(etcd, tmp_path, "10.0.0.9", "members", prefix=prefix).stdout.split()
    assert listed == ["10.0.0.1"]
    node = tmp_path / "10.0.0.2"
    env = {**os.environ, "STATE_DIR": str(node / "state"),
           "MYSQL_CMD": fake_mysql(node / "mysql", "Synced", "uuid-split")}
    check = subprocess.run([str(SCRIPTS / "paasmas-clustercheck")], input="GET / HTTP/1.0\r\n\r\n",
                           capture_output=True, text=True, env=env, timeout=30, check=False)
    assert check.stdout.startswith("HTTP/1.0 503"), check.stdout
    assert "another cluster than the recorded uuid-real" in check.stdout
    # Back in the recorded cluster (rejoined by state transfer): registered and healthy again.
    assert discovery(etcd, tmp_path, "10.0.0.2", "register-once", prefix=prefix,
                     uuid="uuid-real").returncode == 0
    assert not (node / "state" / "foreign-cluster").exists()
