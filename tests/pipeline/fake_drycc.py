"""A recording stand-in for the Drycc CLI, installed as `drycc` on PATH by the pipeline tests.

It accepts exactly the commands paasmas-deploy uses, with the workflow-cli's flags, checks what
the real CLI would need (a client.json named by DRYCC_PROFILE with controller and token; stdin
not a pipe for `config push`), records every call and keeps apps and their config in a state
directory. `apps create` makes the app's bare repository under the builder directory, as the
real builder serves one per app.

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


def check_profile() -> None:
    path = os.environ.get("DRYCC_PROFILE", "")
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


def option(args: list[str], name: str, short: str | None = None) -> str:
    for flag in (name, short):
        if flag and flag in args:
            return args[args.index(flag) + 1]
    fail(f"missing {name}", 2)
    raise AssertionError


def main(argv: list[str]) -> None:
    record(argv)
    check_profile()
    command = " ".join(argv[:2])
    if command == os.environ.get("FAKE_DRYCC_FAIL"):
        fail("Get \"http://drycc.example/v2/\": dial tcp: connection refused")
    args = argv[2:]
    if command == "apps info":
        app = option(args, "--app", "-a")
        if not app_file(app).exists():
            fail("Not Found")
        print(f"=== {app} Application\nApp:  {app}")
    elif command == "apps create":
        app, flags = args[0], args[1:]
        if flags != ["--no-remote"]:
            fail(f"unexpected flags {flags}", 2)
        if app_file(app).exists():
            fail("409 Conflict: Application with this id already exists.")
        app_file(app).parent.mkdir(parents=True, exist_ok=True)
        app_file(app).write_text(json.dumps({"config": {}}))
        subprocess.run(["git", "init", "-q", "--bare", str(BUILDER / f"{app}.git")], check=True)
        print(f"Creating Application... done, created {app}")
    elif command == "config push":
        app = option(args, "--app", "-a")
        if "--merge" not in args or option(args, "--confirm") != "yes":
            fail("cancel the config action")
        if not stat.S_ISCHR(os.fstat(0).st_mode):
            fail("open /dev/tty: no such device or address")
        if not app_file(app).exists():
            fail("Not Found")
        state = json.loads(app_file(app).read_text())
        for line in Path(option(args, "--path")).read_text().splitlines():
            if line:
                key, _, value = line.partition("=")
                state["config"][key] = value
        app_file(app).write_text(json.dumps(state))
        print("Creating config... done")
    elif command == "apps destroy":
        app = option(args, "--app", "-a")
        if option(args, "--confirm") != app:
            fail(f"app {app} does not match confirm")
        if not app_file(app).exists():
            fail("Not Found")
        app_file(app).unlink()
        subprocess.run(["rm", "-rf", str(BUILDER / f"{app}.git")], check=True)
        print(f"Destroying {app}... done")
    else:
        fail(f"fake drycc does not know {' '.join(argv)!r}", 3)


if __name__ == "__main__":
    main(sys.argv[1:])
