"""Replace one node on purpose: `make roll STACK=… NODE=<hostname>` (README "Operations").

A roll touches a quorum member only when its whole role is healthy by the host checks
(`checks/`, as `make check` runs them), and waits after the replacement until the role is
healthy again, so an operator who rolls node after node never takes two members down at once.

User-data changes never replace a node by themselves (every server ignores `userData` in its
diff): a node takes new user data only when rolled, one at a time. A roll replaces exactly that
server (and what hangs on it: its volume attachment, its floating IP association), on the same
port, so its address stays; the program renders the node's current user data because
PAASMAS_ROLL_NODES names it. Database servers are protected: the roll lifts the protection of
that one server for the replacement, and the program protects the new one.

    python -m ops.roll STACK NODE [EXTRA UP ARGUMENTS...]   (make passes the policy pack)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTANCE = "openstack:compute/instance:Instance"
# The environment variable the program reads (__main__.py): hostnames whose servers take their
# current user data in this run.
ROLL_NODES = "PAASMAS_ROLL_NODES"


class RollRefused(Exception):
    """The role is not healthy: nothing was touched (before), or the rolled node did not come
    back healthy in time (after)."""


@dataclass(frozen=True)
class HealthChecks:
    """How the operator's host checks reach the stack: `--stack NAME` or `--outputs FILE`, and
    SSH settings (see checks/conftest.py)."""

    source: tuple[str, ...]
    extra: tuple[str, ...] = ()
    python: str = sys.executable

    def command(self, role: str) -> list[str]:
        """The role's own checks and the every-host checks of its nodes."""
        module = f"checks/test_{role.replace('-', '_')}.py"
        return [self.python, "-m", "pytest", module, "checks/test_every_host.py",
                "-k", f"{role}- or not test_every_host", "-p", "no:cacheprovider",
                "-q", "--tb=line", *self.source, *self.extra]


def role_health(checks: HealthChecks, role: str, *, cwd: Path) -> tuple[bool, str]:
    """Whether every check of the role passes, and what the checks printed (failures named)."""
    done = subprocess.run(checks.command(role), cwd=cwd, capture_output=True, text=True,
                          check=False, env={**os.environ, "COLUMNS": "1000"})
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def role_of(server: Mapping[str, Any]) -> str:
    """The role the program wrote into the server's metadata."""
    return str((server.get("outputs") or {}).get("metadata", {}).get("role", ""))


def server_of(export: Mapping[str, Any], hostname: str) -> Mapping[str, Any]:
    """The server resource named `hostname` in a `pulumi stack export` document."""
    resources = export.get("deployment", {}).get("resources") or []
    servers = [r for r in resources if r.get("type") == INSTANCE]
    found: list[Mapping[str, Any]] = [
        r for r in servers if (r.get("outputs") or {}).get("name") == hostname]
    if len(found) != 1:
        known = sorted(str((r.get("outputs") or {}).get("name")) for r in servers)
        raise ValueError(f"NODE: {hostname!r} is not a server of this stack — one of: "
                         f"{', '.join(known) or 'none (is the stack up?)'}")
    return found[0]


def roll_commands(stack: str, server: Mapping[str, Any],
                  up_args: Sequence[str] = ()) -> list[list[str]]:
    """The pulumi commands that replace exactly this server."""
    urn = str(server["urn"])
    commands: list[list[str]] = []
    if server.get("protect"):
        commands.append(["state", "unprotect", urn, "--yes"])
    commands.append(["up", "--yes", "--skip-preview", "--replace", urn, "--target", urn,
                     "--target-dependents", *up_args])
    return [[*c, "--non-interactive", "--stack", stack] for c in commands]


def roll(stack: str, hostname: str, *, cwd: Path, env: Mapping[str, str],
         pulumi: str = "pulumi", up_args: Sequence[str] = (),
         checks: HealthChecks | None = None, healthy_within_s: float = 900,
         poll_s: float = 15) -> None:
    """Replace `hostname`'s server. With `checks`: refuse unless its role is healthy first, and
    wait until it is healthy again after (RollRefused otherwise)."""
    export = subprocess.run([pulumi, "stack", "export", "--stack", stack], cwd=cwd, env=env,
                            capture_output=True, text=True, check=True).stdout
    server = server_of(json.loads(export), hostname)
    role = role_of(server)
    if checks is not None:
        healthy, report = role_health(checks, role, cwd=cwd)
        if not healthy:
            raise RollRefused(f"{role} is not healthy, so {hostname} is not rolled (its peers "
                              f"would lose their quorum margin):\n{report}")
    run_env = {**env, ROLL_NODES: hostname}
    started = time.monotonic()
    for command in roll_commands(stack, server, up_args):
        subprocess.run([pulumi, *command], cwd=cwd, env=run_env, check=True)
    if checks is None:
        return
    while True:
        healthy, report = role_health(checks, role, cwd=cwd)
        waited = time.monotonic() - started
        if healthy:
            print(f"roll: {hostname} replaced and {role} healthy again after {waited:.0f} s")
            return
        if waited > healthy_within_s:
            raise RollRefused(f"{hostname} was replaced but {role} is not healthy after "
                              f"{waited:.0f} s: do not roll another {role} node\n{report}")
        time.sleep(poll_s)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ops.roll STACK NODE [UP ARGS...]`; PAASMAS_ROLL_CHECKS holds the checks'
    SSH arguments (`--ssh-identity … --known-hosts …`), or `off` where no node boots (the lab)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print("usage: python -m ops.roll STACK NODE [EXTRA UP ARGUMENTS...]", file=sys.stderr)
        return 2
    setting = os.environ.get("PAASMAS_ROLL_CHECKS", "").split()
    checks = None if setting == ["off"] else HealthChecks(("--stack", args[0]), tuple(setting))
    try:
        roll(args[0], args[1], cwd=Path.cwd(), env=dict(os.environ), up_args=args[2:],
             checks=checks)
    except (ValueError, RollRefused) as error:
        print(error, file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"roll failed: {' '.join(error.cmd)} exited {error.returncode}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
