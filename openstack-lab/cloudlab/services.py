"""The lab's processes, in start order: what runs, how, and how we know it is ready."""

import signal
from dataclasses import dataclass, field

from .paths import LabPaths

PY = "/usr/bin/python3"
HOST = "127.0.0.1"
COMPUTE_HOSTS = ("fake-1", "fake-2", "fake-3")

# Phases: each starts once the one before is ready.
INFRA, IDENTITY, SERVICES = 0, 1, 2


@dataclass(frozen=True)
class Api:
    """An OpenStack API: its catalog entry and the URL that must answer."""

    service: str  # keystone service name
    type: str  # catalog type
    port: int
    path: str = ""  # endpoint path after host:port

    @property
    def root(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"


KEYSTONE = Api("keystone", "identity", 5000, "/v3")
APIS = {
    "keystone": KEYSTONE,
    "glance-api": Api("glance", "image", 9292),
    "placement-api": Api("placement", "placement", 8778),
    "nova-api": Api("nova", "compute", 8774, "/v2.1"),
    "neutron-server": Api("neutron", "network", 9696),
    "cinder-api": Api("cinderv3", "volumev3", 8776, "/v3/%(project_id)s"),
    "octavia-api": Api("octavia", "load-balancer", 9876),
}


@dataclass(frozen=True)
class Service:
    name: str
    phase: int
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    tcp_port: int | None = None  # ready when this loopback port accepts
    unix_socket: str | None = None  # ready when this socket accepts

    @property
    def stop_signal(self) -> int:
        # uWSGI's graceful SIGTERM can wait for ever on an app's own threads (placement does);
        # SIGINT is its immediate shutdown. Everything else stops cleanly on SIGTERM.
        return signal.SIGINT if self.argv[0].endswith("uwsgi_python3") else signal.SIGTERM

    @property
    def api(self) -> Api | None:
        return APIS.get(self.name)


def _uwsgi(port: int, script: str, threads: int, *extra: str) -> tuple[str, ...]:
    # One process per API (2 cores). uWSGI's --http-socket closes the connection after each
    # response without saying so; python-requests then fails the next request on the reused
    # connection (ConnectionResetError 104) unless the response carries `Connection: close`.
    return (
        "/usr/bin/uwsgi_python3",
        "--http-socket",
        f"{HOST}:{port}",
        "--wsgi-file",
        script,
        "--processes",
        "1",
        "--threads",
        str(threads),
        "--need-app",
        "--die-on-term",
        "--add-header",
        "Connection: close",
        "--buffer-size",
        "65535",
        "--master",
        # Load the app in the worker only: the master stays small and holds no eventlet state.
        "--lazy-apps",
        *extra,
    )


def services(p: LabPaths) -> list[Service]:
    etc = p.etc
    nova = ("--config-file", str(etc / "nova/nova.conf"))
    neutron = (
        "--config-file",
        str(etc / "neutron/neutron.conf"),
        "--config-file",
        str(etc / "neutron/ml2_conf.ini"),
    )
    cinder = ("--config-file", str(etc / "cinder/cinder.conf"))
    octavia = ("--config-file", str(etc / "octavia/octavia.conf"))
    rabbit_env = {
        "HOME": str(p.state / "rabbitmq"),
        "RABBITMQ_NODENAME": "paasmas-lab@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": HOST,
        "RABBITMQ_NODE_PORT": "5672",
        "RABBITMQ_DIST_PORT": "25672",
        "RABBITMQ_MNESIA_BASE": str(p.state / "rabbitmq/mnesia"),
        "RABBITMQ_LOG_BASE": str(p.log),
        "RABBITMQ_LOGS": "-",
        "RABBITMQ_CONFIG_FILE": str(etc / "rabbitmq/rabbitmq.conf"),
        "RABBITMQ_CONF_ENV_FILE": str(etc / "rabbitmq/rabbitmq-env.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(etc / "rabbitmq/enabled_plugins"),
        "RABBITMQ_PID_FILE": str(p.run / "rabbitmq-server.beam.pid"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        "ERL_EPMD_ADDRESS": HOST,
    }
    table = [
        Service(
            "mariadb",
            INFRA,
            (
                "/usr/sbin/mariadbd",
                "--no-defaults",
                f"--datadir={p.mysql_data}",
                f"--socket={p.mysql_socket}",
                f"--pid-file={p.run / 'mariadbd.own.pid'}",
                "--skip-networking",
                "--user=root",
                "--max-connections=1000",
                "--innodb-buffer-pool-size=128M",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci",
                f"--log-error={p.logfile('mariadb')}",
            ),
            unix_socket=str(p.mysql_socket),
        ),
        # Started by us so that it stops with the lab (Erlang would otherwise leave its own).
        Service("epmd", INFRA, ("/usr/bin/epmd", "-address", HOST), tcp_port=4369),
        Service(
            "rabbitmq",
            INFRA,
            ("/usr/lib/rabbitmq/bin/rabbitmq-server",),
            env=rabbit_env,
            tcp_port=5672,
        ),
        Service(
            "keystone",
            IDENTITY,
            _uwsgi(5000, "/usr/bin/keystone-wsgi-public", 4),
            env={
                "OS_KEYSTONE_CONFIG_DIR": str(etc / "keystone"),
                "OS_KEYSTONE_CONFIG_FILES": "keystone.conf",
            },
        ),
        Service(
            "placement-api",
            SERVICES,
            _uwsgi(8778, "/usr/bin/placement-api", 4),
            env={"OS_PLACEMENT_CONFIG_DIR": str(etc / "placement")},
        ),
        Service(
            "glance-api",
            SERVICES,
            (PY, "/usr/bin/glance-api", "--config-file", str(etc / "glance/glance-api.conf")),
        ),
        Service("neutron-server", SERVICES, (PY, "/usr/bin/neutron-server", *neutron)),
        Service("nova-conductor", SERVICES, (PY, "/usr/bin/nova-conductor", *nova)),
        Service("nova-scheduler", SERVICES, (PY, "/usr/bin/nova-scheduler", *nova)),
        Service("nova-api", SERVICES, (PY, "/usr/bin/nova-api", *nova)),
        Service("cinder-api", SERVICES, (PY, "/usr/bin/cinder-api", *cinder)),
        Service("cinder-scheduler", SERVICES, (PY, "/usr/bin/cinder-scheduler", *cinder)),
        Service("cinder-volume", SERVICES, (PY, "/usr/bin/cinder-volume", *cinder)),
        Service(
            "octavia-api",
            SERVICES,
            _uwsgi(9876, "/usr/bin/octavia-wsgi", 4, "--pyargv", " ".join(octavia)),
        ),
        Service("octavia-worker", SERVICES, (PY, "/usr/bin/octavia-worker", *octavia)),
    ]
    # nova-compute without its package (which pulls libvirt): the code is in python3-nova.
    # One process per fake hypervisor, so anti-affinity across three hosts can hold.
    for host in COMPUTE_HOSTS:
        table.append(
            Service(
                f"nova-compute-{host}",
                SERVICES,
                (
                    PY,
                    "-c",
                    "import sys; from nova.cmd.compute import main; sys.exit(main())",
                    *nova,
                    "--config-file",
                    str(etc / f"nova/compute-{host}.conf"),
                ),
            )
        )
    return table
