"""Harness of the pipeline tests: a real MariaDB server, the Groovy compiler, a stand-in PaaS.

`make pipeline-prereqs` (a prerequisite of `make test`) installs MariaDB and shellcheck from
Debian and fetches the Groovy jar from Maven Central into $PAASMAS_CACHE.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `pytest` run without `python -m` from the repository root
    sys.path.insert(0, str(REPO))

from components.config import load_pipeline  # noqa: E402
from pipeline.jobs import PipelineContext, PlatformEndpoints, render_pipeline_env  # noqa: E402

DEPLOY_SCRIPT = REPO / "pipeline" / "bin" / "paasmas-deploy"
GROOVY_CHECK = REPO / "pipeline" / "tools" / "GroovySyntaxCheck.groovy"
GROOVY_VERSION = (REPO / "pipeline" / "tools" / "groovy.version").read_text().strip()
FAKE_DRYCC = Path(__file__).resolve().parent / "fake_drycc.py"

# Secrets of the test platform. The admin password has every character that needs quoting
# somewhere: option files, SQL, shells, JSON.
ADMIN_USER = "paasmas_admin"
ADMIN_PASSWORD = "Adm1n\"pw\\x'y #z;$(id) `w`"
DRYCC_TOKEN = "tok-5f0c2e9d7a61c3b8e4f09a2d6b7c1e3f"
SSH_KEY_TEXT = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake-builder-key-0c1d2e3f\n-----END"
CONTROLLER_URL = "http://drycc.192.0.2.10.sslip.io"
PAAS_DOMAIN = "192.0.2.10.sslip.io"


def cache_dir() -> Path:
    return Path(os.environ.get("PAASMAS_CACHE", Path.home() / ".cache" / "paasmas"))


def groovy_jar() -> Path:
    return cache_dir() / "groovy" / GROOVY_VERSION / f"groovy-all-{GROOVY_VERSION}.jar"


# --- Groovy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroovyVerdict:
    ok: bool
    message: str


class GroovyChecker:
    """Runs pipeline/tools/GroovySyntaxCheck.groovy on many files in one JVM."""

    def __init__(self, jar: Path, java: str) -> None:
        self.jar = jar
        self.java = java

    def check(self, paths: list[Path]) -> dict[Path, GroovyVerdict]:
        run = subprocess.run(
            [self.java, "-cp", str(self.jar), "groovy.ui.GroovyMain", str(GROOVY_CHECK),
             *map(str, paths)],
            capture_output=True, text=True, timeout=300, check=False,
        )
        verdicts: dict[Path, GroovyVerdict] = {}
        current: Path | None = None
        lines: list[str] = []
        for line in run.stdout.splitlines():
            status, _, name = line.partition(" ")
            if status in ("ok", "FAIL") and Path(name) in paths:
                if current is not None:
                    verdicts[current] = GroovyVerdict(verdicts[current].ok, "\n".join(lines))
                current, lines = Path(name), []
                verdicts[current] = GroovyVerdict(status == "ok", "")
            else:
                lines.append(line)
        if current is not None:
            verdicts[current] = GroovyVerdict(verdicts[current].ok, "\n".join(lines))
        missing = [p for p in paths if p not in verdicts]
        assert not missing, f"checker gave no verdict for {missing}: {run.stdout}{run.stderr}"
        assert run.returncode == (0 if all(v.ok for v in verdicts.values()) else 1), run.stderr
        return verdicts


@pytest.fixture(scope="session")
def groovy() -> GroovyChecker:
    java = shutil.which("java")
    if java is None or not groovy_jar().is_file():
        pytest.skip(reason=f"Groovy {GROOVY_VERSION} jar or java absent: "
                    "run `make pipeline-prereqs`")
    return GroovyChecker(groovy_jar(), java)


# --- MariaDB -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path
    other_ca: Path  # a CA that did not sign the server's certificate


def make_tls_files(directory: Path) -> TlsFiles:
    """A test CA and a server certificate for 127.0.0.1, made with openssl."""
    directory.mkdir()

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, capture_output=True, check=True,
                       timeout=120)

    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                f"/CN=paasmas test {ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
            "server.key", "-out", "server.csr")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    return TlsFiles(ca=directory / "ca.pem", cert=directory / "server.pem",
                    key=directory / "server.key", other_ca=directory / "other-ca.pem")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MariaDB:
    """A MariaDB server of our own: root over its socket, the pipeline's admin over TCP."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes]
    tls: TlsFiles
    host: str = "127.0.0.1"
    base_users: set[tuple[str, str]] = field(default_factory=set)

    @property
    def socket(self) -> Path:
        return self.directory / "mysqld.sock"

    def root(self, sql: str) -> list[list[str]]:
        out = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.socket}", "--user=root", "--batch",
             "--skip-column-names"],
            input=sql, capture_output=True, text=True, check=True, timeout=60,
        ).stdout
        return [line.split("\t") for line in out.splitlines()]

    def as_user(self, user: str, password: str, sql: str) -> subprocess.CompletedProcess[str]:
        """Runs SQL as an app's user over TCP, as the app would connect."""
        defaults = self.directory / f"{user}.cnf"
        defaults.write_text(f'[client]\nuser="{user}"\npassword="{password}"\n')
        defaults.chmod(0o600)
        return subprocess.run(
            ["mariadb", f"--defaults-extra-file={defaults}", "--protocol=TCP",
             f"--host={self.host}", f"--port={self.port}", "--batch", "--skip-column-names"],
            input=sql, capture_output=True, text=True, check=False, timeout=60,
        )

    def databases(self) -> set[str]:
        system = {"information_schema", "mysql", "performance_schema", "sys"}
        return {row[0] for row in self.root("SHOW DATABASES;")} - system

    def users(self) -> set[tuple[str, str]]:
        rows = self.root("SELECT User, Host FROM mysql.user;")
        return {(row[0], row[1]) for row in rows} - self.base_users

    def grants(self, user: str) -> list[str]:
        return sorted(row[0] for row in self.root(f"SHOW GRANTS FOR '{user}'@'%';"))

    def reset(self) -> None:
        """Drops what earlier tests created, keeping root and the admin."""
        for name in self.databases():
            self.root(f"DROP DATABASE `{name}`;")
        for user, host in self.users():
            self.root(f"DROP USER '{user}'@'{host}';")


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    server = shutil.which("mariadbd") or shutil.which("mysqld", path="/usr/sbin:/usr/bin")
    install = shutil.which("mariadb-install-db")
    if server is None or install is None or shutil.which("mariadb") is None \
            or shutil.which("openssl") is None:
        pytest.skip(reason="MariaDB server, client or openssl absent: run `make pipeline-prereqs`")
    directory = tmp_path_factory.mktemp("mariadb")
    data = directory / "data"
    tls = make_tls_files(directory / "tls")
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [install, "--no-defaults", *user, f"--datadir={data}", "--skip-test-db",
         "--auth-root-authentication-method=socket"],
        capture_output=True, check=True, timeout=300,
    )
    port = _free_port()
    log = directory / "error.log"
    process = subprocess.Popen(
        [server, "--no-defaults", *user, f"--datadir={data}", f"--socket={directory}/mysqld.sock",
         f"--port={port}", "--bind-address=127.0.0.1", f"--pid-file={directory}/mysqld.pid",
         f"--log-error={log}", "--skip-name-resolve", "--innodb-buffer-pool-size=32M",
         f"--ssl-ca={tls.ca}", f"--ssl-cert={tls.cert}", f"--ssl-key={tls.key}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    db = MariaDB(directory=directory, port=port, process=process, tls=tls)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {log.read_text()[-2000:]}")
            try:
                db.root("SELECT 1;")
                break
            except subprocess.CalledProcessError as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"mariadbd not ready in 60 s: {log.read_text()[-2000:]}") from error
                time.sleep(0.2)
        quoted = ADMIN_PASSWORD.replace("\\", "\\\\").replace("'", "\\'")
        db.root(f"CREATE USER '{ADMIN_USER}'@'%' IDENTIFIED BY '{quoted}';"
                f"GRANT ALL PRIVILEGES ON *.* TO '{ADMIN_USER}'@'%' WITH GRANT OPTION;")
        db.base_users = {(row[0], row[1]) for row in db.root("SELECT User, Host FROM mysql.user;")}
        yield db
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the stand-in platform ---------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    drycc_calls: list[list[str]]
    mysql_calls: list[str]


@dataclass
class Platform:
    """The deploy script's world: fake drycc, real MariaDB, a builder of bare repositories."""

    root: Path
    db: MariaDB
    env: dict[str, str]
    source: Path
    builder: Path
    state: Path
    outputs: list[str] = field(default_factory=list)

    def run(self, *args: str, extra_env: dict[str, str] | None = None) -> Run:
        for log in ("calls.jsonl", "mysql-calls.log"):
            (self.state / log).unlink(missing_ok=True)
        completed = subprocess.run(
            ["bash", str(DEPLOY_SCRIPT), *args], cwd=self.source,
            env={**self.env, **(extra_env or {})}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300,
            check=False,
        )
        self.outputs.append(completed.stdout)
        calls_file = self.state / "calls.jsonl"
        calls = [json.loads(line)["argv"] for line in calls_file.read_text().splitlines()] \
            if calls_file.exists() else []
        mysql_log = self.state / "mysql-calls.log"
        mysql_calls = mysql_log.read_text().splitlines() if mysql_log.exists() else []
        return Run(completed.returncode, completed.stdout, calls, mysql_calls)

    def app_config(self, app: str) -> dict[str, str]:
        config: dict[str, str] = json.loads((self.state / "apps" / f"{app}.json").read_text())[
            "config"]
        return config

    def app_exists(self, app: str) -> bool:
        return (self.state / "apps" / f"{app}.json").exists()

    def builder_head(self, app: str) -> str:
        return subprocess.run(["git", "-C", str(self.builder / f"{app}.git"), "rev-parse", "main"],
                              capture_output=True, text=True, check=True).stdout.strip()

    def source_head(self) -> str:
        return subprocess.run(["git", "-C", str(self.source), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()

    def commit(self, message: str) -> None:
        (self.source / "CHANGES").write_text(message + "\n")
        git(self.source, "add", "CHANGES")
        git(self.source, "commit", "-q", "-m", message)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


TEST_HOOK = """#!/bin/sh
# Records that it ran and what of the deploy secrets it could see.
env > "$HOOK_RECORD"
exit "${HOOK_EXIT:-0}"
"""

MYSQL_WRAPPER = """#!/bin/bash
# Records the client's argv and the mode of its defaults file, then runs the real client.
for arg in "$@"; do
    case $arg in --defaults-extra-file=*) mode=$(stat -c %a "${arg#*=}") ;; esac
done
printf 'mode=%s argv=%s\\n' "${mode:-none}" "$*" >>"$FAKE_DRYCC_STATE/mysql-calls.log"
exec REAL_CLIENT "$@"
"""


@pytest.fixture
def platform(tmp_path: Path, mariadb: MariaDB) -> Platform:
    mariadb.reset()
    bin_dir, state, builder, source = (tmp_path / d for d in ("bin", "state", "builder", "source"))
    for d in (bin_dir, state, builder, source):
        d.mkdir()
    drycc = bin_dir / "drycc"
    drycc.write_text(f"#!{sys.executable}\n" + FAKE_DRYCC.read_text())
    drycc.chmod(0o755)
    real_client = shutil.which("mariadb")
    assert real_client is not None
    wrapper = bin_dir / "mariadb"
    wrapper.write_text(MYSQL_WRAPPER.replace("REAL_CLIENT", real_client))
    wrapper.chmod(0o755)
    ssh_key = tmp_path / "builder-key"
    ssh_key.write_text(SSH_KEY_TEXT)
    ssh_key.chmod(0o600)

    git(source, "init", "-q", "-b", "feature")
    git(source, "config", "user.email", "dev@example.invalid")
    git(source, "config", "user.name", "Dev")
    (source / "ci").mkdir()
    (source / "ci" / "test").write_text(TEST_HOOK)
    (source / "ci" / "test").chmod(0o755)
    (source / "Dockerfile").write_text("FROM ghost:5-alpine\n")
    git(source, "add", ".")
    git(source, "commit", "-q", "-m", "initial")

    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path),
        "LANG": "C.UTF-8",
        "PAASMAS_PIPELINE_ENV": str(tmp_path / "pipeline.env"),
        "PAASMAS_REPORT_FILE": str(tmp_path / "app-url"),
        "DRYCC_TOKEN": DRYCC_TOKEN,
        "DATABASE_ADMIN_USER": ADMIN_USER,
        "DATABASE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PAAS_BUILDER_SSH_KEY": str(ssh_key),
        "FAKE_DRYCC_STATE": str(state),
        "FAKE_DRYCC_BUILDER": str(builder),
        "FAKE_DRYCC_CONTROLLER": CONTROLLER_URL,
        "FAKE_DRYCC_TOKEN": DRYCC_TOKEN,
        "HOOK_RECORD": str(tmp_path / "hook-env"),
    }
    # The non-secret settings come the way they do on the Jenkins node: from pipeline.env.
    ctx = PipelineContext.from_config(load_pipeline(
        {"repository": "https://github.com/example/ghost", "credentials_id": "github-bot"}))
    endpoints = PlatformEndpoints(
        paas_domain=PAAS_DOMAIN, paas_controller_url=CONTROLLER_URL,
        paas_builder_remote=f"file://{builder}", database_host=mariadb.host,
        database_port=mariadb.port)
    (tmp_path / "pipeline.env").write_text(render_pipeline_env(ctx, endpoints))
    return Platform(root=tmp_path, db=mariadb, env=env, source=source, builder=builder,
                    state=state)
