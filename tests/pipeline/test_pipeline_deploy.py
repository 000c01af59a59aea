"""paasmas-deploy, run for each pipeline event against a stand-in drycc and a real MariaDB."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from pipeline_harness import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    CONTROLLER_URL,
    DEPLOY_SCRIPT,
    DRYCC_TOKEN,
    PAAS_DOMAIN,
    SSH_KEY_TEXT,
    Platform,
    Run,
)

pytestmark = pytest.mark.pipeline

PASSWORD = re.compile(r"^[A-Za-z0-9]{32}$")
CONFIG_FILE = "<config file>"


def commands(run: Run) -> list[list[str]]:
    """The drycc calls without the `--config <private client.json>` each one ends with, and with
    the private config file's random path made comparable."""
    normalised = []
    for argv in run.drycc_calls:
        assert argv[-2] == "--config" and argv[-1].endswith("/drycc/client.json"), argv
        argv = argv[:-2]
        if "--path" in argv:
            argv[argv.index("--path") + 1] = CONFIG_FILE
        normalised.append(argv)
    return normalised


def info(app: str) -> list[str]:
    return ["apps", "info", "-a", app]


def create(app: str) -> list[str]:
    return ["apps", "create", app, "--no-remote"]


def push_config(app: str) -> list[str]:
    return ["config", "push", "-a", app, "--path", CONFIG_FILE, "--confirm", "yes"]


def destroy(app: str) -> list[str]:
    return ["apps", "destroy", "-a", app, "--confirm", app]


def expected_grants(user: str) -> list[str]:
    return sorted([f"GRANT USAGE ON *.* TO `{user}`@`%` IDENTIFIED BY PASSWORD '<hash>'",
                   f"GRANT ALL PRIVILEGES ON `{user}`.* TO `{user}`@`%`"])


def grants(platform: Platform, user: str) -> list[str]:
    return sorted(re.sub(r"PASSWORD '\*[0-9A-F]{40}'", "PASSWORD '<hash>'", g)
                  for g in platform.db.grants(user))


def assert_deployed(platform: Platform, run: Run, app: str) -> str:
    """The app's config has Ghost's shape, its user works on its database only; returns the
    generated password."""
    assert run.returncode == 0, run.output
    database = app.replace("-", "_")
    url = f"http://{app}.{PAAS_DOMAIN}"
    config = platform.app_config(app)
    password: str = config.pop("database__connection__password")
    assert PASSWORD.match(password)
    assert config == {
        "database__client": "mysql",
        "database__connection__host": platform.db.host,
        "database__connection__port": str(platform.db.port),
        "database__connection__user": database,
        "database__connection__database": database,
        "url": url,
    }
    assert database in platform.db.databases()
    assert (database, "%") in platform.db.users()
    assert grants(platform, database) == expected_grants(database)
    own = platform.db.as_user(database, password,
                              f"USE `{database}`; CREATE TABLE IF NOT EXISTS posts "
                              "(id INT PRIMARY KEY); INSERT INTO posts VALUES (1) "
                              "ON DUPLICATE KEY UPDATE id = id; SELECT COUNT(*) FROM posts;")
    assert own.returncode == 0 and own.stdout.strip() == "1", own.stderr
    other = platform.db.as_user(database, password, "SELECT COUNT(*) FROM mysql.user;")
    assert other.returncode != 0 and "denied" in other.stderr
    assert platform.builder_head(app) == platform.source_head()
    assert f"app {app} is at {url}" in run.output
    assert (platform.root / "app-url").read_text() == url + "\n"
    return password


# --- the five events ---------------------------------------------------------------------------


def test_pr_open_creates_app_database_and_pushes(platform: Platform) -> None:
    run = platform.run("pr-open", "--pr", "7")
    assert commands(run) == [info("pr-7-ghost"), create("pr-7-ghost"), push_config("pr-7-ghost")]
    assert_deployed(platform, run, "pr-7-ghost")
    assert platform.db.databases() == {"pr_7_ghost"}
    assert platform.db.users() == {("pr_7_ghost", "%")}
    # The build-and-test hook ran first, and without the deploy secrets.
    hook_env = dict(line.partition("=")[::2]
                    for line in (platform.root / "hook-env").read_text().splitlines())
    assert hook_env["PAAS_DOMAIN"] == PAAS_DOMAIN
    secret_names = {"DRYCC_TOKEN", "DATABASE_ADMIN_PASSWORD", "DATABASE_ADMIN_USER",
                    "PAAS_BUILDER_SSH_KEY"}
    assert not secret_names & hook_env.keys()
    # (the stand-in's own FAKE_DRYCC_TOKEN is the test's, not the pipeline's)
    assert not any(ADMIN_PASSWORD in value for value in hook_env.values())


def test_pr_update_reuses_app_and_password(platform: Platform) -> None:
    first = platform.run("pr-open", "--pr", "7")
    password = assert_deployed(platform, first, "pr-7-ghost")
    platform.commit("second change")

    run = platform.run("pr-update", "--pr", "7")

    assert commands(run) == [info("pr-7-ghost")]
    assert assert_deployed(platform, run, "pr-7-ghost") == password
    assert platform.db.databases() == {"pr_7_ghost"}


def test_pr_close_tears_down_and_second_close_is_a_no_op(platform: Platform) -> None:
    assert_deployed(platform, platform.run("pr-open", "--pr", "7"), "pr-7-ghost")
    platform.run("merge", "--branch", "development")

    run = platform.run("pr-close", "--pr", "7")
    assert run.returncode == 0, run.output
    assert commands(run) == [info("pr-7-ghost"), destroy("pr-7-ghost")]
    assert not platform.app_exists("pr-7-ghost")
    assert not (platform.builder / "pr-7-ghost.git").exists()
    # Only the pull request's database and user are gone.
    assert platform.db.databases() == {"stage_ghost"}
    assert platform.db.users() == {("stage_ghost", "%")}

    again = platform.run("pr-close", "--pr", "7")
    assert again.returncode == 0, again.output
    assert commands(again) == [info("pr-7-ghost")]
    assert "does not exist: nothing to destroy" in again.output
    assert platform.db.databases() == {"stage_ghost"}
    assert platform.db.users() == {("stage_ghost", "%")}


def test_merge_to_development_deploys_staging(platform: Platform) -> None:
    run = platform.run("merge", "--branch", "development")
    assert commands(run) == [info("stage-ghost"), create("stage-ghost"), push_config("stage-ghost")]
    assert_deployed(platform, run, "stage-ghost")
    assert platform.db.databases() == {"stage_ghost"}


def test_merge_to_master_deploys_production(platform: Platform) -> None:
    run = platform.run("merge", "--branch", "master")
    assert commands(run) == [info("ghost"), create("ghost"), push_config("ghost")]
    password = assert_deployed(platform, run, "ghost")
    assert platform.db.databases() == {"ghost"}

    platform.commit("release")
    again = platform.run("merge", "--branch", "master")
    assert commands(again) == [info("ghost")]
    assert assert_deployed(platform, again, "ghost") == password


# --- failure and repair paths ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["deploy", "--pr", "7"], {}, "unknown event 'deploy'"),
        ([], {}, "no event given"),
        (["merge", "--branch", "feature/s3-images"], {},
         "no deployment for branch 'feature/s3-images'"),
        (["merge"], {}, "no deployment for branch ''"),
        (["merge", "--branch", "master", "--pr", "7"], {}, "merge takes no --pr"),
        (["merge", "--branch", "master"], {"CHANGE_ID": "7"}, "from a pull-request build"),
        (["pr-open"], {}, "pr-open needs --pr"),
        (["pr-open", "--pr", "7; rm -rf /"], {}, "pr-open needs --pr"),
        (["pr-close", "--pr", "7", "--branch", "master"], {}, "pr-close takes no --branch"),
        (["pr-open", "--pr", "7", "--force"], {}, "unknown argument: --force"),
    ],
)
def test_unknown_event_or_branch_fails_clearly(
    platform: Platform, args: list[str], env: dict[str, str], message: str
) -> None:
    run = platform.run(*args, extra_env=env)
    assert run.returncode == 2
    assert message in run.output
    assert "usage: paasmas-deploy" in run.output
    assert run.drycc_calls == [] and run.mysql_calls == []
    assert platform.db.databases() == set()


def test_failing_test_hook_stops_before_anything_is_deployed(platform: Platform) -> None:
    run = platform.run("pr-open", "--pr", "7", extra_env={"HOOK_EXIT": "1"})
    assert run.returncode == 1
    assert "ci/test failed: not deploying" in run.output
    assert run.drycc_calls == []
    assert len(run.mysql_calls) == 1  # only the read-only access check
    assert platform.db.databases() == set()


def test_lost_database_user_gets_a_new_password_in_the_app_config(platform: Platform) -> None:
    old = assert_deployed(platform, platform.run("pr-open", "--pr", "3"), "pr-3-ghost")
    platform.db.root("DROP USER 'pr_3_ghost'@'%';")

    run = platform.run("pr-update", "--pr", "3")

    assert commands(run) == [info("pr-3-ghost"), push_config("pr-3-ghost")]
    assert assert_deployed(platform, run, "pr-3-ghost") != old


def test_controller_errors_are_not_taken_for_a_missing_app(platform: Platform) -> None:
    assert_deployed(platform, platform.run("pr-open", "--pr", "9"), "pr-9-ghost")
    run = platform.run("pr-close", "--pr", "9", extra_env={"FAKE_DRYCC_FAIL": "apps info"})
    assert run.returncode == 1
    assert "could not look up app pr-9-ghost" in run.output
    assert platform.app_exists("pr-9-ghost")
    assert platform.db.databases() == {"pr_9_ghost"}


def test_database_user_name_longer_than_mysql_allows_is_refused(platform: Platform) -> None:
    run = platform.run("pr-open", "--pr", "100000", extra_env={"PAASMAS_APP": "a" * 24})
    assert run.returncode == 1
    assert "longer than 32 characters" in run.output
    assert run.drycc_calls == [] and run.mysql_calls == []


def test_database_tls_is_verified_against_the_given_ca(platform: Platform) -> None:
    platform.db.root(f"ALTER USER '{ADMIN_USER}'@'%' REQUIRE SSL;")
    try:
        run = platform.run("pr-open", "--pr", "4",
                           extra_env={"DATABASE_SSL_CA": str(platform.db.tls.ca)})
        assert_deployed(platform, run, "pr-4-ghost")

        wrong = platform.run("pr-close", "--pr", "4",
                             extra_env={"DATABASE_SSL_CA": str(platform.db.tls.other_ca)})
        assert wrong.returncode == 1
        assert "cannot connect to the database at 127.0.0.1" in wrong.output
        assert "certificate" in wrong.output  # the client's own reason
        assert wrong.drycc_calls == []
        assert platform.app_exists("pr-4-ghost")
        assert platform.db.databases() == {"pr_4_ghost"}

        missing = platform.run("pr-close", "--pr", "4",
                               extra_env={"DATABASE_SSL_CA": "/nonexistent/ca.pem"})
        assert missing.returncode == 1
        assert "DATABASE_SSL_CA=/nonexistent/ca.pem is not a readable file" in missing.output
        assert missing.drycc_calls == []
    finally:
        platform.db.root(f"ALTER USER '{ADMIN_USER}'@'%' REQUIRE NONE;")


def test_missing_settings_are_named(platform: Platform) -> None:
    env = {k: v for k, v in platform.env.items() if k != "DATABASE_ADMIN_PASSWORD"}
    completed = subprocess.run(["bash", str(DEPLOY_SCRIPT), "pr-close", "--pr", "1"],
                               env=env, cwd=platform.source, capture_output=True, text=True,
                               check=False)
    assert completed.returncode == 1
    assert "missing settings: DATABASE_ADMIN_PASSWORD" in completed.stderr


def test_pipeline_env_sets_only_known_settings(platform: Platform) -> None:
    settings = Path(platform.env["PAASMAS_PIPELINE_ENV"])
    settings.write_text(settings.read_text() + "LD_PRELOAD=/tmp/evil.so\n")
    run = platform.run("pr-close", "--pr", "1")
    assert run.returncode == 1
    assert "unknown setting LD_PRELOAD" in run.output
    assert run.drycc_calls == [] and run.mysql_calls == []

    missing = platform.run("pr-close", "--pr", "1",
                           extra_env={"PAASMAS_PIPELINE_ENV": "/nonexistent/pipeline.env"})
    assert missing.returncode == 1
    assert "PAASMAS_PIPELINE_ENV=/nonexistent/pipeline.env is not a readable file" in missing.output


def test_environment_overrides_pipeline_env(platform: Platform) -> None:
    run = platform.run("merge", "--branch", "main",
                       extra_env={"PAASMAS_PRODUCTION_BRANCH": "main", "PAASMAS_APP": "blog"})
    assert commands(run)[0] == info("blog")
    assert_deployed(platform, run, "blog")


# --- secrets -----------------------------------------------------------------------------------


def test_no_secret_reaches_output_or_command_lines(platform: Platform) -> None:
    runs = [
        platform.run("pr-open", "--pr", "11"),
        platform.run("pr-update", "--pr", "11"),
        platform.run("merge", "--branch", "development"),
        platform.run("merge", "--branch", "master"),
    ]
    generated = [platform.app_config(app)["database__connection__password"]
                 for app in ("pr-11-ghost", "stage-ghost", "ghost")]
    runs += [platform.run("pr-close", "--pr", "11"), platform.run("pr-close", "--pr", "11")]
    assert all(run.returncode == 0 for run in runs), [run.output for run in runs]

    secrets = [ADMIN_PASSWORD, DRYCC_TOKEN, SSH_KEY_TEXT, *generated]
    for run in runs:
        for secret in secrets:
            assert secret not in run.output
            assert all(secret not in " ".join(argv) for argv in run.drycc_calls)
            assert all(secret not in line for line in run.mysql_calls)
    # The admin's credentials reach the client only through a private defaults file.
    mysql_calls = [line for run in runs for line in run.mysql_calls]
    assert mysql_calls
    assert all(line.startswith("mode=600 argv=--defaults-extra-file=") for line in mysql_calls)
    assert all(ADMIN_USER not in line for line in mysql_calls)
    # Nothing private is left behind in the temporary directory.
    assert not list(Path(platform.env["TMPDIR"]).glob("paasmas-deploy.*"))


def test_drycc_profile_is_the_non_interactive_login(platform: Platform) -> None:
    """The stand-in refuses calls without a 0600 client.json holding controller and token."""
    run = platform.run("pr-close", "--pr", "5", extra_env={"DRYCC_TOKEN": "wrong"})
    assert run.returncode == 1
    assert "401 Unauthorized" in run.output
    moved = platform.run("pr-close", "--pr", "5",
                         extra_env={"PAAS_CONTROLLER_URL": CONTROLLER_URL + ".other"})
    assert moved.returncode == 1
    assert "wrong controller" in moved.output


def test_stand_in_refuses_what_the_pinned_cli_would(platform: Platform) -> None:
    """The recording drycc is as strict as workflow-cli v1.10.2 about flags and stdin."""
    profile = platform.root / "client.json"
    profile.write_text(json.dumps({"controller": CONTROLLER_URL, "token": DRYCC_TOKEN}))
    profile.chmod(0o600)
    env = {**platform.env, "PATH": platform.env["PATH"]}

    def drycc(*args: str, stdin: int | None = subprocess.DEVNULL) -> str:
        done = subprocess.run(["drycc", *args, "--config", str(profile)], env=env, stdin=stdin,
                              capture_output=True, text=True, check=False)
        assert done.returncode != 0
        return done.stderr

    assert "unknown flag: --merge" in drycc("config", "push", "-a", "x", "--merge")
    assert "/dev/tty" in drycc("config", "push", "-a", "x", "--confirm", "yes",
                               stdin=subprocess.PIPE)
    assert "Not found." in drycc("apps", "info", "-a", "nothing-here")
    profile.chmod(0o644)
    assert "readable by others" in drycc("apps", "info", "-a", "x")
