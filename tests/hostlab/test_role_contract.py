"""The checks expect what the user data really sets up: every unit a check wants active is one
the role's rendered cloud-config enables, rendered through the project's code."""

from __future__ import annotations

import ipaddress

import pytest

from checks.inventory import ROLE_UNITS
from components.roles import Role
from components.userdata import DatabaseSecrets, TlsBundle
from hostlab.node_files import LabLayout, LabSecrets, render_host, units

pytestmark = pytest.mark.render

PEM = TlsBundle("CA", "CERT", "KEY")
LAYOUT = LabLayout("contract", "paasmas-contract", ipaddress.IPv4Network("10.9.0.0/24"),
                   {Role.BASTION: 1, Role.PAAS: 3, Role.DATABASE: 3, Role.DB_LB: 1})
SECRETS = LabSecrets(ca_cert="CA", etcd_member={h.hostname: PEM for h in LAYOUT.hosts(Role.PAAS)},
                     database_etcd_client=PEM, galera=PEM,
                     database=DatabaseSecrets("r", "s", "c", "a", "d"), k3s_token="t",
                     paas_admin_password="p")


@pytest.mark.parametrize("role", [Role.BASTION, Role.PAAS, Role.DATABASE, Role.DB_LB],
                         ids=lambda r: r.value)
def test_units_the_checks_expect_are_enabled_by_the_user_data(role: Role) -> None:
    host = LAYOUT.hosts(role)[0]
    rendered = units(render_host(LAYOUT, host, SECRETS))
    enabled = {name for name, unit in rendered.items() if unit.get("enable")}
    expected = set(ROLE_UNITS[role.value])
    # Flatcar's own sshd.socket: not enabled by the user data, restarted for its settings.
    assert rendered["sshd.socket"]["command"] == "restart"
    assert expected <= enabled, f"{role.value}: checks expect {sorted(expected - enabled)}"
