"""Configuration of the lab, rendered into the lab directory: pure functions plus writers."""

import json
import secrets
import shutil
import string
import subprocess
from pathlib import Path

from .paths import REPO_LAB, LabPaths
from .services import COMPUTE_HOSTS, KEYSTONE

TEMPLATES = REPO_LAB / "templates"
DRIVERS = REPO_LAB / "drivers"
SERVICE_USERS = ("glance", "placement", "nova", "neutron", "cinder", "octavia")
DB_USER = "paasmas_lab"
DATABASES = (
    "keystone",
    "glance",
    "placement",
    "nova_api",
    "nova",
    "nova_cell0",
    "neutron",
    "cinder",
    "octavia",
)
# Which template lands where (relative to <lab>/etc).
CONFIG_FILES = {
    "keystone.conf": "keystone/keystone.conf",
    "glance-api.conf": "glance/glance-api.conf",
    "placement.conf": "placement/placement.conf",
    "nova.conf": "nova/nova.conf",
    "neutron.conf": "neutron/neutron.conf",
    "ml2_conf.ini": "neutron/ml2_conf.ini",
    "cinder.conf": "cinder/cinder.conf",
    "octavia.conf": "octavia/octavia.conf",
    "rabbitmq.conf": "rabbitmq/rabbitmq.conf",
}

Secrets = dict[str, str]


def load_or_create_secrets(p: LabPaths) -> Secrets:
    """Passwords of this lab: made once, kept in <lab>/secrets.json (mode 0600)."""
    if p.secrets.exists():
        loaded: Secrets = json.loads(p.secrets.read_text())
        return loaded
    names = ("admin", "paasmas", "db", *SERVICE_USERS)
    made = {name: secrets.token_urlsafe(18) for name in names}
    p.secrets.touch(mode=0o600)
    p.secrets.write_text(json.dumps(made, indent=2) + "\n")
    return made


def _auth_lines(user: str, password: str) -> str:
    return "\n".join(
        (
            f"auth_url = {KEYSTONE.endpoint}",
            "auth_type = password",
            "user_domain_name = Default",
            "project_domain_name = Default",
            "project_name = service",
            f"username = {user}",
            f"password = {password}",
        )
    )


def _authtoken(user: str, password: str) -> str:
    return "\n".join(
        (
            "[keystone_authtoken]",
            f"www_authenticate_uri = {KEYSTONE.endpoint}",
            _auth_lines(user, password),
        )
    )


def template_values(p: LabPaths, s: Secrets) -> dict[str, str]:
    values = {
        "lab": str(p.root),
        "mysql_socket": str(p.mysql_socket),
        "db_url": f"mysql+pymysql://{DB_USER}:{s['db']}@localhost",
        "transport_url": "rabbit://guest:guest@127.0.0.1:5672/",
    }
    for user in SERVICE_USERS:
        values[f"keystone_authtoken_{user}"] = _authtoken(user, s[user])
        values[f"service_auth_{user}"] = _auth_lines(user, s[user])
    return values


def render(template: str, values: dict[str, str]) -> str:
    """Fill ${name} placeholders; a placeholder without a value is an error, not a blank."""
    return string.Template(template).substitute(values)


def compute_conf(host: str) -> str:
    return f"# nova-compute process for fake hypervisor {host}\n[DEFAULT]\nhost = {host}\n"


def write_configs(p: LabPaths, s: Secrets) -> None:
    values = template_values(p, s)
    for template, target in CONFIG_FILES.items():
        out = p.etc / target
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render((TEMPLATES / template).read_text(), values))
        out.chmod(0o600)
    for host in COMPUTE_HOSTS:
        p.conf("nova", f"compute-{host}.conf").write_text(compute_conf(host))
    rabbit = p.etc / "rabbitmq"
    (rabbit / "rabbitmq-env.conf").write_text("# the lab sets everything in the environment\n")
    (rabbit / "enabled_plugins").write_text("[].\n")
    for d in (
        "keystone",
        "glance/images",
        "glance/staging",
        "glance/tasks",
        "glance/lock",
        "glance/image-cache",
        "nova/instances",
        "nova/lock",
        "neutron/lock",
        "cinder/lock",
        "octavia/lock",
        "rabbitmq/mnesia",
    ):
        (p.state / d).mkdir(parents=True, exist_ok=True)


def install_drivers(p: LabPaths) -> None:
    """Copy the lab's drivers and their entry-point metadata onto the services' PYTHONPATH."""
    shutil.rmtree(p.python, ignore_errors=True)
    shutil.copytree(DRIVERS, p.python, ignore=shutil.ignore_patterns("__pycache__"))


def make_certs(p: LabPaths) -> None:
    """A throw-away CA and client certificate: Octavia wants them even with no-op amphorae."""
    d = p.certs
    if (d / "client.pem").exists():
        return
    d.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-subj",
        "/CN=paasmas-lab-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=paasmas-lab-octavia",
        "-keyout",
        "client.key",
        "-out",
        "client.csr",
    )
    openssl(
        "x509",
        "-req",
        "-in",
        "client.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "3650",
        "-out",
        "client.crt",
    )
    pem = (d / "client.crt").read_text() + (d / "client.key").read_text()
    (d / "client.pem").write_text(pem)
    for f in d.iterdir():
        f.chmod(0o600)


def clouds_yaml(s: Secrets) -> dict[str, object]:
    """clouds.yaml content: `paasmas-lab` (what the stack uses) and `paasmas-lab-admin`."""

    def cloud(user: str, project: str) -> dict[str, object]:
        return {
            "auth": {
                "auth_url": KEYSTONE.endpoint,
                "username": user,
                "password": s[user],
                "project_name": project,
                "user_domain_name": "Default",
                "project_domain_name": "Default",
            },
            "region_name": "RegionOne",
            "interface": "public",
            "identity_api_version": 3,
        }

    return {
        "clouds": {
            "paasmas-lab": cloud("paasmas", "paasmas"),
            "paasmas-lab-admin": cloud("admin", "admin"),
        }
    }


def write_clouds_yaml(p: LabPaths, s: Secrets) -> Path:
    import yaml  # Debian's python3-yaml, installed with the lab's packages

    p.clouds_yaml.touch(mode=0o600)
    p.clouds_yaml.write_text(yaml.safe_dump(clouds_yaml(s), sort_keys=False))
    return p.clouds_yaml
