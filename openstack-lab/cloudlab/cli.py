"""`labctl up|down|status|reset`: the local OpenStack cloud's life cycle."""

import argparse
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import bootstrap, lab_config, packages, prepare, procs
from .errors import LabError
from .paths import LabPaths
from .services import IDENTITY, INFRA, SERVICES, Service, services

DEFAULT_LAB_DIR = "/var/lib/paasmas-lab"
API_TIMEOUT_S = 300.0  # two shared cores, a cold Python import of every service at once


class Clock:
    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def say(self, message: str) -> None:
        print(f"[{self.elapsed():6.1f}s] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# Readiness


def api_answers(url: str, timeout_s: float = 3.0) -> int | None:
    """HTTP status of a GET on an API root (any answer counts: 300 and 401 are fine)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except (OSError, ValueError):
        return None


def _accepts(family: int, address: str | tuple[str, int]) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(address)
        except OSError:
            return False
        return True


def is_ready(svc: Service) -> bool:
    if svc.api is not None:
        return api_answers(svc.api.root) is not None
    if svc.tcp_port is not None:
        return _accepts(socket.AF_INET, ("127.0.0.1", svc.tcp_port))
    if svc.unix_socket is not None:
        return _accepts(socket.AF_UNIX, svc.unix_socket)
    return True  # a worker without a port: alive is all we can see here


@dataclass
class Lab:
    paths: LabPaths
    clock: Clock

    @property
    def table(self) -> list[Service]:
        return services(self.paths)

    def running(self, svc: Service) -> procs.Proc | None:
        return procs.running(self.paths.pidfile(svc.name))

    def start(self, phase: int) -> list[Service]:
        """Start the phase's services that are not running; returns those started."""
        env = bootstrap.service_env(self.paths)
        to_start = []
        for svc in (s for s in self.table if s.phase == phase):
            if self.running(svc):
                continue
            if svc.name == "epmd" and is_ready(svc):
                # An epmd of someone else's Erlang already serves the host: share it.
                self.clock.say("epmd: already served on 127.0.0.1:4369, using it")
                continue
            port = svc.api.port if svc.api is not None else svc.tcp_port
            if port is not None and _accepts(socket.AF_INET, ("127.0.0.1", port)):
                raise LabError(svc.name, f"127.0.0.1:{port} is already taken by another program")
            to_start.append(svc)
        started = []
        for svc in to_start:
            procs.spawn(
                svc.argv,
                {**env, **svc.env},
                self.paths.logfile(svc.name),
                self.paths.pidfile(svc.name),
                self.paths.root,
            )
            started.append(svc)
        if started:
            self.clock.say(f"started {', '.join(s.name for s in started)}")
        return started

    def wait_ready(
        self, phase: int, timeout_s: float = API_TIMEOUT_S, only: tuple[str, ...] = ()
    ) -> None:
        """Until every service of the phase (or those named) is alive and answers.

        A service whose process dies meanwhile fails at once, with the end of its log.
        """
        pending = [
            s
            for s in self.table
            if s.phase == phase and not self.shared_epmd(s) and (not only or s.name in only)
        ]
        deadline = time.monotonic() + timeout_s
        while pending:
            for svc in list(pending):
                if not self.running(svc):
                    raise LabError(
                        svc.name, "process exited while starting", self.paths.logfile(svc.name)
                    )
                if is_ready(svc):
                    pending.remove(svc)
            if not pending:
                break
            if time.monotonic() > deadline:
                first = pending[0]
                others = ", ".join(s.name for s in pending[1:])
                more = f" (also not answering: {others})" if others else ""
                raise LabError(
                    first.name,
                    f"not answering after {timeout_s:.0f} s{more}",
                    self.paths.logfile(first.name),
                )
            time.sleep(0.5)

    def shared_epmd(self, svc: Service) -> bool:
        return svc.name == "epmd" and not self.running(svc) and is_ready(svc)

    def all_up(self) -> bool:
        return all((self.running(s) or self.shared_epmd(s)) and is_ready(s) for s in self.table)


# ---------------------------------------------------------------------------------------------
# Commands


@contextmanager
def lab_lock(p: LabPaths) -> Iterator[None]:
    """One labctl at a time per lab directory (e.g. `make -j test`)."""
    p.run.mkdir(parents=True, exist_ok=True)
    with (p.run / "labctl.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def up(p: LabPaths) -> int:
    clock = Clock()
    missing = packages.missing()
    install_s = 0.0
    if missing:
        clock.say(f"installing {len(missing)} Debian packages: {' '.join(missing)}")
        install_s = packages.install(missing)
        clock.say(f"packages installed in {install_s:.0f} s")
    p.create()
    lab = Lab(p, clock)
    secrets = lab_config.load_or_create_secrets(p)
    if lab.all_up() and p.clouds_yaml.exists():
        clock.say(f"lab already up ({len(lab.table)} processes, every API answers): {p.root}")
        return 0

    lab_config.write_configs(p, secrets)
    lab_config.install_drivers(p)
    lab_config.make_certs(p)
    env = bootstrap.service_env(p)
    cold = bootstrap.init_mysql_datadir(p, env)
    clock.say(f"{'cold' if cold else 'warm'} start of the lab in {p.root}")

    lab.start(INFRA)
    # Keystone and the schemas need only the database; RabbitMQ boots meanwhile.
    lab.wait_ready(INFRA, 120, only=("mariadb",))
    clock.say("mariadb ready")
    bootstrap.create_databases(p, secrets, env)

    with ThreadPoolExecutor(max_workers=1) as pool:
        # Schemas of the other services sync while Keystone comes up.
        schemas = pool.submit(bootstrap.sync_schemas, p, secrets, env)
        bootstrap.keystone_bootstrap(p, secrets, env)
        lab.start(IDENTITY)
        lab.wait_ready(IDENTITY)
        clock.say("keystone answers")
        lab.wait_ready(INFRA, 120)
        clock.say("rabbitmq ready")
        identity_admin = prepare.admin(secrets)
        prepare.ensure_identity(identity_admin, secrets)
        identity_admin.close()
        clock.say("service users and catalog in place")
        if schemas.result():
            clock.say("database schemas synced")

    lab.start(SERVICES)
    lab.wait_ready(SERVICES)
    clock.say("every API answers")

    # A new token: the one above predates the catalog entries it created.
    admin = prepare.admin(secrets)
    prepare.ensure_compute_hosts(admin, p, lambda: bootstrap.discover_hosts(p, env))
    clock.say("nova: 3 fake hypervisors up and mapped")
    prepare.ensure_volume_service(admin, p)
    prepare.ensure_lb_provider(admin, p)
    clock.say("cinder-volume schedulable, octavia provider `amphora` offered")
    prepare.ensure_project(admin, secrets)
    prepare.ensure_public_network(admin)
    prepare.ensure_flavors(admin)
    prepare.ensure_image(admin, p)
    admin.close()
    clock.say("project/user `paasmas`, quotas, network `public`, flavors, image in place")
    lab_config.write_clouds_yaml(p, secrets)
    dead = [s.name for s in lab.table if not lab.running(s) and not lab.shared_epmd(s)]
    if dead:
        raise LabError(dead[0], "process exited after start", p.logfile(dead[0]))
    total = clock.elapsed()
    record = {
        "kind": "cold" if cold else "warm",
        "seconds": round(total, 1),
        "install_seconds": round(install_s, 1),
        "at": time.strftime("%FT%TZ", time.gmtime()),
    }
    with (p.state / "up-times.jsonl").open("a") as log:
        log.write(json.dumps(record) + "\n")
    clock.say(
        f"lab ready ({record['kind']} start): clouds.yaml at {p.clouds_yaml}, "
        f"cloud `paasmas-lab`, logs in {p.log}"
    )
    return 0


def down(p: LabPaths) -> int:
    if not p.root.exists():
        print(f"no lab at {p.root}")
        return 0
    table = services(p)
    # Services first (all at once), then Keystone, then the infrastructure they use.
    for phase in (SERVICES, IDENTITY, INFRA):
        group = [s for s in table if s.phase == phase]
        signals = {p.pidfile(s.name): s.stop_signal for s in group}
        results = procs.stop_all(list(signals), signals=signals)
        for svc in group:
            print(f"{svc.name:28} {results[p.pidfile(svc.name)]}")
    return 0


def status(p: LabPaths, check: bool) -> int:
    if not p.is_lab():
        print(f"no lab at {p.root}")
        return 1 if check else 0
    table = services(p)
    up_count = answering = 0
    total_rss = total_pss = 0
    print(f"{'service':28} {'process':22} {'API':28} {'RSS MiB':>8} {'PSS MiB':>8}")
    for svc in table:
        proc = procs.running(p.pidfile(svc.name))
        rss = pss = 0
        if proc:
            up_count += 1
            state = f"running (pid {proc.pid})"
            rss, pss = procs.rss_kib(proc.pid)
            total_rss += rss
            total_pss += pss
        elif procs.read_pidfile(p.pidfile(svc.name)):
            state = "dead (stale pid file)"
        else:
            state = "stopped"
        api = "-"
        if svc.api is not None:
            code = api_answers(svc.api.root)
            api = f"{svc.api.root} {code}" if code else f"{svc.api.root} no answer"
            answering += code is not None
        print(f"{svc.name:28} {state:22} {api:28} {rss / 1024:8.0f} {pss / 1024:8.0f}")
    apis = sum(1 for s in table if s.api is not None)
    ok = up_count == len(table) and answering == apis
    print(
        f"lab {'up' if ok else 'NOT up'}: {up_count}/{len(table)} processes running, "
        f"{answering}/{apis} APIs answer, memory RSS {total_rss / 1024:.0f} MiB "
        f"(PSS {total_pss / 1024:.0f} MiB); logs in {p.log}"
    )
    return 0 if ok or not check else 1


def reset(p: LabPaths) -> int:
    if not p.root.exists():
        print(f"no lab at {p.root}")
        return 0
    if not p.is_lab():
        print(f"{p.root} has no {p.root / '.paasmas-lab'} marker: not wiping it", file=sys.stderr)
        return 1
    down(p)
    shutil.rmtree(p.root)
    print(f"wiped {p.root}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labctl", description=__doc__)
    parser.add_argument("--lab-dir", default=os.environ.get("PAASMAS_LAB_DIR", DEFAULT_LAB_DIR))
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="install what is missing, configure, start, prepare")
    sub.add_parser("down", help="stop what up started")
    st = sub.add_parser("status", help="each service, its API, its memory")
    st.add_argument("--check", action="store_true", help="exit 1 unless everything is up")
    sub.add_parser("reset", help="down, then wipe the lab directory")
    args = parser.parse_args(argv)
    p = LabPaths(Path(args.lab_dir).resolve())
    # The lab's own clients are configured explicitly, never from the caller's OS_* variables.
    for key in [k for k in os.environ if k.startswith("OS_")]:
        del os.environ[key]
    try:
        if args.command == "up":
            with lab_lock(p):
                return up(p)
        if args.command == "down":
            with lab_lock(p):
                return down(p)
        if args.command == "reset":
            with lab_lock(p):
                return reset(p)
        return status(p, args.check)
    except LabError as e:
        print(f"lab-{args.command} FAILED: {e}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as e:
        print(f"lab-{args.command} FAILED: {e}", file=sys.stderr)
        return 1
