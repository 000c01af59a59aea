"""The lab controller's own pieces (openstack-lab/cloudlab): rendering and process handling.

Fast: real files and real processes, no cloud.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "openstack-lab"))

from cloudlab import lab_config, procs
from cloudlab.errors import LabError, tail
from cloudlab.paths import LabPaths
from cloudlab.services import APIS, COMPUTE_HOSTS, services

pytestmark = pytest.mark.integration


@pytest.fixture()
def lab(tmp_path: Path) -> LabPaths:
    paths = LabPaths(tmp_path / "lab")
    paths.create()
    return paths


def test_every_template_renders_completely_into_the_lab_dir(lab: LabPaths) -> None:
    secrets = lab_config.load_or_create_secrets(lab)
    lab_config.write_configs(lab, secrets)
    for target in lab_config.CONFIG_FILES.values():
        text = (lab.etc / target).read_text()
        assert "${" not in text, target
        # Nothing points into the host's /etc but the packages' own paste files.
        for path in re.findall(r"= (/\S+)", text):
            assert path.startswith(str(lab.root)) or path.startswith("/etc/"), (target, path)
            if path.startswith("/etc/"):
                assert path.endswith("paste.ini"), (target, path)
    assert oct((lab.etc / "nova/nova.conf").stat().st_mode & 0o777) == "0o600"
    for host in COMPUTE_HOSTS:
        assert f"host = {host}" in (lab.etc / f"nova/compute-{host}.conf").read_text()


def test_a_missing_template_value_is_an_error_not_a_blank() -> None:
    with pytest.raises(KeyError, match="db_url"):
        lab_config.render("connection = ${db_url}/nova", {})


def test_secrets_are_made_once_and_kept_private(lab: LabPaths) -> None:
    first = lab_config.load_or_create_secrets(lab)
    assert lab_config.load_or_create_secrets(lab) == first
    assert oct(lab.secrets.stat().st_mode & 0o777) == "0o600"
    assert len(set(first.values())) == len(first)


def test_clouds_yaml_has_the_member_entry_the_stack_uses(lab: LabPaths) -> None:
    secrets = lab_config.load_or_create_secrets(lab)
    clouds = lab_config.clouds_yaml(secrets)["clouds"]
    assert isinstance(clouds, dict)
    auth = clouds["paasmas-lab"]["auth"]
    assert (auth["username"], auth["project_name"]) == ("paasmas", "paasmas")
    assert auth["auth_url"] == "http://127.0.0.1:5000/v3"


def test_service_table_runs_one_process_per_api_with_debian_python(lab: LabPaths) -> None:
    table = services(lab)
    names = [s.name for s in table]
    assert len(names) == len(set(names))
    assert set(APIS) <= set(names)
    assert [n for n in names if n.startswith("nova-compute-")] == [
        f"nova-compute-{h}" for h in COMPUTE_HOSTS
    ]
    for svc in table:
        if svc.argv[0].endswith("uwsgi_python3"):
            assert svc.argv[svc.argv.index("--processes") + 1] == "1"
            assert "Connection: close" in svc.argv
            assert svc.stop_signal == signal.SIGINT  # uWSGI's immediate shutdown
        elif "python" in svc.argv[0]:
            assert svc.argv[0] == "/usr/bin/python3", svc.name
        assert not any(arg.startswith("/etc/") for arg in svc.argv), svc.name


def _spawn_family(lab: LabPaths) -> tuple[procs.Proc, subprocess.Popen[bytes]]:
    """A shell that forks a child: a leader and a worker in one process group."""
    proc, popen = procs.spawn(
        ["/bin/sh", "-c", "sleep 300 & echo worker started; wait"],
        {"PATH": "/usr/bin:/bin"},
        lab.logfile("family"),
        lab.pidfile("family"),
        lab.root,
    )
    deadline = time.monotonic() + 10
    while len(procs.group_members(proc)) < 2:
        assert time.monotonic() < deadline, "worker did not start"
        time.sleep(0.05)
    return proc, popen


def test_stop_ends_the_leader_and_its_workers_and_removes_the_pid_file(lab: LabPaths) -> None:
    proc, popen = _spawn_family(lab)
    assert procs.running(lab.pidfile("family")) == proc
    members = procs.group_members(proc)
    result = procs.stop_all([lab.pidfile("family")], grace_s=5)
    assert result[lab.pidfile("family")].startswith("stopped")
    assert popen.wait(timeout=5) != 0
    assert not lab.pidfile("family").exists()
    time.sleep(0.2)
    for pid in members:
        state = Path(f"/proc/{pid}/stat")
        assert not state.exists() or state.read_text().split(") ")[1][0] in "ZX"
    assert "worker started" in lab.logfile("family").read_text()


def test_a_pid_file_naming_a_reused_pid_is_not_ours(lab: LabPaths) -> None:
    # Our own pid with a different start time: what a pid file looks like after a reboot.
    own = procs.Proc(os.getpid(), (procs.start_time_of(os.getpid()) or 0) + 1)
    lab.pidfile("ghost").write_text(f"{own.pid} {own.start_time}\n")
    assert procs.running(lab.pidfile("ghost")) is None
    result = procs.stop_all([lab.pidfile("ghost")], grace_s=1)
    assert "stale" in result[lab.pidfile("ghost")]
    assert not lab.pidfile("ghost").exists()  # and we are still alive to check it


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_time(lab: LabPaths) -> None:
    proc, popen = procs.spawn(
        ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"],
        {"PATH": "/usr/bin:/bin"},
        lab.logfile("stubborn"),
        lab.pidfile("stubborn"),
        lab.root,
    )
    time.sleep(0.3)
    result = procs.stop_all([lab.pidfile("stubborn")], grace_s=1)
    assert result[lab.pidfile("stubborn")].startswith("killed")
    assert popen.wait(timeout=5) == -signal.SIGKILL
    assert not procs.is_alive(proc)


def test_failure_message_names_the_service_and_shows_its_latest_run(lab: LabPaths) -> None:
    log = lab.logfile("glance-api")
    log.write_text("===== old start\nold trouble\n===== new start\nnew trouble\n")
    assert tail(log) == "===== new start\nnew trouble"
    message = str(LabError("glance-api", "process exited while starting", log))
    assert message.startswith("glance-api: process exited while starting")
    assert "new trouble" in message and "old trouble" not in message


def test_sigterm_reaches_a_shell_started_by_spawn(lab: LabPaths) -> None:
    proc, popen = procs.spawn(
        ["/bin/sleep", "300"],
        {"PATH": "/usr/bin:/bin"},
        lab.logfile("s"),
        lab.pidfile("s"),
        lab.root,
    )
    assert os.getpgid(proc.pid) == proc.pid  # its own process group
    os.kill(proc.pid, signal.SIGTERM)
    assert popen.wait(timeout=5) == -signal.SIGTERM
    assert procs.running(lab.pidfile("s")) is None


def test_a_log_past_its_size_moves_aside_when_the_service_starts_again(lab: LabPaths) -> None:
    log = lab.logfile("chatty")
    log.write_text("x" * 100)
    procs.rotate(log, keep_bytes=50)
    assert not log.exists() and (lab.log / "chatty.log.1").read_text() == "x" * 100
    log.write_text("short")
    procs.rotate(log, keep_bytes=50)
    assert log.read_text() == "short"
