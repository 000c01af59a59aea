"""One-time work: database server files, databases, schemas, Keystone's keys and bootstrap."""

import os
import subprocess
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from .errors import LabError
from .lab_config import DATABASES, DB_USER, Secrets, template_values
from .packages import SCHEMA_PACKAGES, installed_versions
from .paths import LabPaths
from .services import KEYSTONE

PY = "/usr/bin/python3"


def run_logged(
    service: str, argv: Sequence[str], p: LabPaths, env: Mapping[str, str], log_name: str = ""
) -> None:
    log = p.logfile(log_name or service)
    with log.open("ab") as out:
        out.write(f"\n===== running: {' '.join(argv)}\n".encode())
        out.flush()
        code = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=p.root,
            check=False,
        ).returncode
    if code != 0:
        raise LabError(service, f"`{' '.join(argv[:4])} ...` exited with {code}", log)


def init_mysql_datadir(p: LabPaths, env: Mapping[str, str]) -> bool:
    """Create the MariaDB data directory once; True if it was created now."""
    if (p.mysql_data / "mysql").is_dir():
        return False
    p.mysql_data.mkdir(parents=True, exist_ok=True)
    run_logged(
        "mariadb",
        [
            "/usr/bin/mariadb-install-db",
            "--no-defaults",
            f"--datadir={p.mysql_data}",
            "--user=root",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ],
        p,
        env,
    )
    return True


def create_databases_sql(password: str) -> str:
    statements = [f"CREATE USER IF NOT EXISTS '{DB_USER}'@'localhost' IDENTIFIED BY '{password}';"]
    for db in DATABASES:
        statements.append(f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4;")
        statements.append(f"GRANT ALL PRIVILEGES ON `{db}`.* TO '{DB_USER}'@'localhost';")
    return "\n".join(statements)


def create_databases(p: LabPaths, s: Secrets, env: Mapping[str, str]) -> None:
    stamp = p.stamp("databases")
    if stamp.exists():
        return
    subprocess.run(
        ["/usr/bin/mariadb", "--no-defaults", f"--socket={p.mysql_socket}", "-u", "root"],
        input=create_databases_sql(s["db"]).encode(),
        env=dict(env),
        check=True,
    )
    stamp.touch()


def schema_versions() -> str:
    return "".join(f"{k}={v}\n" for k, v in sorted(installed_versions(SCHEMA_PACKAGES).items()))


def keystone_bootstrap(p: LabPaths, s: Secrets, env: Mapping[str, str]) -> None:
    """Keystone's schema, keys and admin: once per package version (all steps are idempotent)."""
    stamp = p.stamp("keystone")
    versions = schema_versions()
    if stamp.exists() and stamp.read_text() == versions:
        return
    conf = ["--config-file", str(p.conf("keystone", "keystone.conf"))]
    manage = [PY, "/usr/bin/keystone-manage", *conf]
    run_logged("keystone", [*manage, "db_sync"], p, env, "keystone-manage")
    for keys in ("fernet_setup", "credential_setup"):
        run_logged(
            "keystone",
            [*manage, keys, "--keystone-user", "root", "--keystone-group", "root"],
            p,
            env,
            "keystone-manage",
        )
    run_logged(
        "keystone",
        [
            *manage,
            "bootstrap",
            "--bootstrap-password",
            s["admin"],
            "--bootstrap-admin-url",
            KEYSTONE.endpoint,
            "--bootstrap-internal-url",
            KEYSTONE.endpoint,
            "--bootstrap-public-url",
            KEYSTONE.endpoint,
            "--bootstrap-region-id",
            "RegionOne",
        ],
        p,
        env,
        "keystone-manage",
    )
    stamp.write_text(versions)


def _schema_lanes(p: LabPaths, s: Secrets) -> list[list[tuple[str, list[str]]]]:
    etc = p.etc
    nova = [PY, "/usr/bin/nova-manage", "--config-file", str(etc / "nova/nova.conf")]
    values = template_values(p, s)
    cell0 = f"{values['db_url']}/nova_cell0?unix_socket={values['mysql_socket']}"
    # Two lanes in parallel: the syncs are CPU-bound and there are two cores.
    return [
        [
            (
                "glance-api",
                [
                    PY,
                    "/usr/bin/glance-manage",
                    "--config-file",
                    str(etc / "glance/glance-api.conf"),
                    "db_sync",
                ],
            ),
            (
                "placement-api",
                [
                    PY,
                    "/usr/bin/placement-manage",
                    "--config-file",
                    str(etc / "placement/placement.conf"),
                    "db",
                    "sync",
                ],
            ),
            ("nova-api", [*nova, "api_db", "sync"]),
            ("nova-api", [*nova, "cell_v2", "map_cell0", "--database_connection", cell0]),
            ("nova-api", [*nova, "cell_v2", "create_cell", "--name", "cell1"]),
            ("nova-api", [*nova, "db", "sync"]),
        ],
        [
            (
                "neutron-server",
                [
                    PY,
                    "/usr/bin/neutron-db-manage",
                    "--config-file",
                    str(etc / "neutron/neutron.conf"),
                    "--config-file",
                    str(etc / "neutron/ml2_conf.ini"),
                    "upgrade",
                    "heads",
                ],
            ),
            (
                "cinder-api",
                [
                    PY,
                    "/usr/bin/cinder-manage",
                    "--config-file",
                    str(etc / "cinder/cinder.conf"),
                    "db",
                    "sync",
                ],
            ),
            (
                "octavia-api",
                [
                    PY,
                    "/usr/bin/octavia-db-manage",
                    "--config-file",
                    str(etc / "octavia/octavia.conf"),
                    "upgrade",
                    "head",
                ],
            ),
        ],
    ]


def _cell1_exists(p: LabPaths, env: Mapping[str, str]) -> bool:
    out = subprocess.run(
        [
            PY,
            "/usr/bin/nova-manage",
            "--config-file",
            str(p.conf("nova", "nova.conf")),
            "cell_v2",
            "list_cells",
        ],
        capture_output=True,
        text=True,
        env=dict(env),
        check=False,
    ).stdout
    return " cell1 " in out


def sync_schemas(p: LabPaths, s: Secrets, env: Mapping[str, str]) -> bool:
    """Every other service's schema, once per package version; True if it ran."""
    stamp = p.stamp("schemas")
    versions = schema_versions()
    if stamp.exists() and stamp.read_text() == versions:
        return False

    def lane(steps: list[tuple[str, list[str]]]) -> None:
        for service, argv in steps:
            if "create_cell" in argv and _cell1_exists(p, env):
                continue
            run_logged(service, argv, p, env, f"db-sync-{service}")

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(lane, steps) for steps in _schema_lanes(p, s)]:
            future.result()
    stamp.write_text(versions)
    return True


def discover_hosts(p: LabPaths, env: Mapping[str, str]) -> None:
    run_logged(
        "nova-api",
        [
            PY,
            "/usr/bin/nova-manage",
            "--config-file",
            str(p.conf("nova", "nova.conf")),
            "cell_v2",
            "discover_hosts",
            "--verbose",
        ],
        p,
        env,
        "nova-manage",
    )


def service_env(p: LabPaths) -> dict[str, str]:
    """The environment every lab process gets: nothing inherited but a few basics."""
    return {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(p.home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(p.python),
        "TZ": os.environ.get("TZ", "UTC"),
    }
