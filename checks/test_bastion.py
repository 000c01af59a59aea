"""The bastion: a jump host that forwards TCP and nothing else."""

from __future__ import annotations

import testinfra.host

from checks.inventory import Node, sshd_effective, sshd_mismatches
from checks.remote import run
from components.roles import Role

ROLE = Role.BASTION.value

JUMP_HOST = {
    "allowtcpforwarding": "yes",
    "allowagentforwarding": "no",
    "allowstreamlocalforwarding": "no",
    "gatewayports": "no",
    "permittunnel": "no",
}


def test_bastion_forwards_tcp_only(node: Node, host: testinfra.host.Host) -> None:
    problems = sshd_mismatches(sshd_effective(run(host, node, "sudo -n sshd -T")), JUMP_HOST)
    assert not problems, f"{node}: sshd -T: " + "; ".join(problems)
