"""A recording stand-in for the Drycc CLI, installed as `drycc` on PATH by the pipeline tests.

It accepts the commands paasmas-deploy uses with the flags workflow-cli v1.10.2 (the stack's
pin) has, refusing any other flag as cobra does; checks what the real CLI would need (the
client.json named by --config, 0600, with controller and token; stdin not a pipe for `config
push`); records every call and keeps apps and their config in a state directory. `apps create`
makes the app's bare repository under the builder directory, as the real builder serves one per
app.

Environment: FAKE_DRYCC_STATE (state directory), FAKE_DRYCC_BUILDER (bare repositories),
FAKE_DRYCC_CONTROLLER and FAKE_DRYCC_TOKEN (what the profile must hold), FAKE_DRYCC_FAIL
(a subcommand such as "apps info" that fails as if the controller were unreachable).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

STATE = Path(os.environ["FAKE_DRYCC_STATE"])
BUILDER = Path(os.environ["FAKE_DRYCC_BUILDER"])


def fail(message: str, code: int = 1) -> None:
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(code)


def record(argv: list[str]) -> None:
    with (STATE / "calls.jsonl").open("a") as calls:
        calls.write(json.dumps({"argv": argv}) + "\n")


# Flags of each command in workflow-cli v1.10.2 (internal/parser), and whether they take a value.
FLAGS = {
    "apps info": {"-a": True, "--app": True},
    "apps create": {"--no-remote": False, "-r": True, "--remote": True},
    "apps destroy": {"-a": True, "--app": True, "--confirm": True},
    "config push": {"-a": True, "--app": True, "-p": True, "--ptype": True, "-g": True,
                    "--group": True, "--path": True, "--confirm": True},
}
GLOBAL_FLAGS = {"-c": True, "--config": True}


def parse(command: str, args: list[str]) -> tuple[list[str], dict[str, str]]:
    known = {**FLAGS[command], **GLOBAL_FLAGS}
    positional: list[str] = []
    flags: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-"):
            name, has_value, value = arg.partition("=")
            if name not in known:
                fail(f"unknown flag: {name}")
            if known[name] and not has_value:
                i += 1
                if i == len(args):
                    fail(f"flag needs an argument: {name}")
                value = args[i]
            flags[name.lstrip("-")] = value if known[name] else "true"
        else:
            positional.append(arg)
        i += 1
    return positional, flags


def check_profile(path: str) -> None:
    if not path.endswith(".json") or not Path(path).is_file():
        fail("client configuration file not found. Are you logged in?")
    if stat.S_IMODE(Path(path).stat().st_mode) & 0o077:
        fail(f"{path} is readable by others")
    profile = json.loads(Path(path).read_text())
    if profile.get("controller") != os.environ["FAKE_DRYCC_CONTROLLER"]:
        fail(f"wrong controller {profile.get('controller')!r}")
    if profile.get("token") != os.environ["FAKE_DRYCC_TOKEN"]:
        fail("401 Unauthorized")


def app_file(app: str) -> Path:
    return STATE / "apps" / f"{app}.json"


# What the controller answers for an unknown app (the SDK prints the 404 body).
NOT_FOUND = '{"detail":"Not found."}'


def main(argv: list[str]) -> None:
    record(argv)
    command = " ".join(argv[:2])
    if command not in FLAGS:
        fail(f"fake drycc does not know {' '.join(argv)!r}", 3)
    positional, flags = parse(command, argv[2:])
    # Without --config the real v1.10.2 CLI reads ~/.drycc/client.json, whatever the environment.
    check_profile(flags.get("config") or flags.get("c") or str(Path.home() / ".drycc/client.json"))
    if command == os.environ.get("FAKE_DRYCC_FAIL"):
        fail("Get \"http://drycc.example/v2/\": dial tcp: connection refused")
    app = flags.get("app") or flags.get("a") or ""
    if command == "apps info":
        if not app_file(app).exists():
            fail(NOT_FOUND)
        print(f"=== {app} Application\nApp:  {app}")
    elif command == "apps create":
        if len(positional) != 1:
            fail("accepts at most 1 arg(s)")
        app = positional[0]
        if "no-remote" not in flags:
            fail("fatal: not a git repository (the test pushes to the builder itself)")
        if app_file(app).exists():
            fail("409 Conflict: Application with this id already exists.")
        app_file(app).parent.mkdir(parents=True, exist_ok=True)
        app_file(app).write_text(json.dumps({"config": {}}))
        subprocess.run(["git", "init", "-q", "--bare", str(BUILDER / f"{app}.git")], check=True)
        print(f"Creating Application... done, created {app}")
    elif command == "config push":
        if not stat.S_ISCHR(os.fstat(0).st_mode):
            fail("open /dev/tty: no such device or address")
        if flags.get("confirm") != "yes":
            fail("cancel the config action")
        if not app_file(app).exists():
            fail(NOT_FOUND)
        state = json.loads(app_file(app).read_text())
        for line in Path(flags.get("path", ".env")).read_text().splitlines():
            if line:
                key, _, value = line.partition("=")
                state["config"][key] = value
        app_file(app).write_text(json.dumps(state))
        print("Creating config... done")
    elif command == "apps destroy":
        if flags.get("confirm") != app:
            fail(f"app {app} does not match confirm {flags.get('confirm')}, aborting")
        if not app_file(app).exists():
            fail(NOT_FOUND)
        app_file(app).unlink()
        subprocess.run(["rm", "-rf", str(BUILDER / f"{app}.git")], check=True)
        print(f"Destroying {app}... done")


if __name__ == "__main__":
    main(sys.argv[1:])
