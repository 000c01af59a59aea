"""Debian packages of the local cloud: install only what is missing."""

import os
import subprocess
import time
from pathlib import Path

INFRA = ("mariadb-server", "rabbitmq-server")
# `nova-compute` is left out on purpose: it pulls libvirt. python3-nova has the compute service,
# which the lab runs with the fake driver.
SERVICES = (
    "keystone",
    "glance-api",
    "placement-api",
    "nova-api",
    "nova-conductor",
    "nova-scheduler",
    "python3-nova",
    "neutron-server",
    "cinder-api",
    "cinder-scheduler",
    "cinder-volume",
    "octavia-api",
    "octavia-worker",
    "uwsgi-core",
    "uwsgi-plugin-python3",
    "python3-openstacksdk",
    "python3-openstackclient",
    "python3-octaviaclient",
    "python3-yaml",
    "openssl",
)
PACKAGES = INFRA + SERVICES
# Their versions decide whether the database schemas must be upgraded.
SCHEMA_PACKAGES = (
    "keystone",
    "python3-glance",
    "python3-placement",
    "python3-nova",
    "python3-neutron",
    "python3-cinder",
    "python3-octavia",
)
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


def installed_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed version of each package that is installed (absent ones are left out)."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Version}\n", *names],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    versions = {}
    for line in out.splitlines():
        name, status, version = line.split("\t")
        if status.endswith(" installed"):
            versions[name] = version
    return versions


def missing(names: tuple[str, ...] = PACKAGES) -> list[str]:
    have = installed_versions(names)
    return [n for n in names if n not in have]


def install(names: list[str]) -> float:
    """apt-get install the packages without starting their daemons; returns the seconds taken.

    A policy-rc.d that denies every start keeps the packages' init scripts from launching their
    own (system-wide) daemons; the lab runs its own, under the lab directory.
    """
    started = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    placed_policy = not POLICY_RC_D.exists()
    if placed_policy:
        POLICY_RC_D.write_text("#!/bin/sh\n# PaaSmas lab: no daemon starts now\nexit 101\n")
        POLICY_RC_D.chmod(0o755)
    try:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *names],
            env=env,
            check=True,
        )
    finally:
        if placed_policy:
            POLICY_RC_D.unlink()
    return time.monotonic() - started
