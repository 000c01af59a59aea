"""Running commands on a checked host, with failures that name the host."""

from __future__ import annotations

import shlex
import time

import testinfra.host

from checks.inventory import Node


def run(host: testinfra.host.Host, node: Node, command: str) -> str:
    """stdout of a command that must succeed; a failure names the host and what it said."""
    result = host.run(command)
    assert result.rc == 0, (f"{node}: `{command}` exited {result.rc}: "
                            f"{(result.stderr or result.stdout).strip()[-500:]}")
    return str(result.stdout)


def remote_clock(host: testinfra.host.Host) -> tuple[float, float, float]:
    """(local time before, the host's clock, local time after)."""
    before = time.time()
    stamp = float(host.check_output("date +%s.%N"))
    return before, stamp, time.time()


def sourced(env_file: str, command: str) -> str:
    """`command` run by root with the variables of a systemd environment file exported (the
    node's agents read their settings this way)."""
    script = f"set -a; . {env_file}; set +a; {command}"
    return f"sudo -n sh -c {shlex.quote(script)}"
