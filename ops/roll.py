"""Replace one node on purpose: `make roll STACK=… NODE=<hostname>` (README "Operations").

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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

INSTANCE = "openstack:compute/instance:Instance"
# The environment variable the program reads (__main__.py): hostnames whose servers take their
# current user data in this run.
ROLL_NODES = "PAASMAS_ROLL_NODES"


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
         pulumi: str = "pulumi", up_args: Sequence[str] = ()) -> None:
    export = subprocess.run([pulumi, "stack", "export", "--stack", stack], cwd=cwd, env=env,
                            capture_output=True, text=True, check=True).stdout
    server = server_of(json.loads(export), hostname)
    run_env = {**env, ROLL_NODES: hostname}
    for command in roll_commands(stack, server, up_args):
        subprocess.run([pulumi, *command], cwd=cwd, env=run_env, check=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print("usage: python -m ops.roll STACK NODE [EXTRA UP ARGUMENTS...]", file=sys.stderr)
        return 2
    try:
        roll(args[0], args[1], cwd=Path.cwd(), env=dict(os.environ), up_args=args[2:])
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"roll failed: {' '.join(error.cmd)} exited {error.returncode}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
