"""`make roll`: which server a hostname names, the commands that replace exactly it, and the
program's check of the hostnames it is told to roll."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.config import ConfigError, load, roll_nodes
from ops.roll import INSTANCE, roll_commands, server_of
from tests.unit.harness import as_pulumi_config, stack_values

pytestmark = pytest.mark.unit

URN = "urn:pulumi:lab::paasmas::paasmas:index:Platform$openstack:compute/instance:Instance::x"


def export(*servers: tuple[str, bool]) -> dict[str, Any]:
    resources = [{"type": INSTANCE, "urn": f"{URN}-{name}", "outputs": {"name": name},
                  "protect": protect} for name, protect in servers]
    resources.append({"type": "openstack:networking/port:Port", "urn": "urn:port",
                      "outputs": {"name": "paasmas-lab-paas-1"}})
    return {"deployment": {"resources": resources}}


def test_the_server_is_found_by_its_hostname_only_among_servers() -> None:
    state = export(("paasmas-lab-paas-0", False), ("paasmas-lab-paas-1", False))
    assert server_of(state, "paasmas-lab-paas-1")["urn"] == f"{URN}-paasmas-lab-paas-1"


@pytest.mark.parametrize(("state", "message"), [
    (export(("paasmas-lab-paas-0", False)),
     "NODE: 'paasmas-lab-paas-1' is not a server of this stack — one of: paasmas-lab-paas-0"),
    ({"deployment": {}}, "one of: none (is the stack up?)"),
])
def test_an_unknown_node_is_named_with_the_ones_there_are(state: dict[str, Any],
                                                          message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        server_of(state, "paasmas-lab-paas-1")


def test_a_roll_replaces_one_server_and_what_hangs_on_it() -> None:
    server = server_of(export(("paasmas-lab-paas-1", False)), "paasmas-lab-paas-1")
    urn = server["urn"]
    assert roll_commands("lab", server) == [
        ["up", "--yes", "--skip-preview", "--replace", urn, "--target", urn,
         "--target-dependents", "--non-interactive", "--stack", "lab"]]


def test_a_protected_database_server_is_unprotected_for_its_own_roll_only() -> None:
    server = server_of(export(("paasmas-lab-database-0", True)), "paasmas-lab-database-0")
    commands = roll_commands("lab", server)
    assert commands[0] == ["state", "unprotect", server["urn"], "--yes", "--non-interactive",
                           "--stack", "lab"]
    assert commands[1][:4] == ["up", "--yes", "--skip-preview", "--replace"]


def test_the_program_accepts_only_nodes_of_its_stack() -> None:
    cfg = load(as_pulumi_config(stack_values("lab")))
    assert roll_nodes("paasmas-lab-paas-1, paasmas-lab-database-2", cfg, "paasmas-lab") == {
        "paasmas-lab-paas-1", "paasmas-lab-database-2"}
    assert roll_nodes(None, cfg, "paasmas-lab") == frozenset()
    with pytest.raises(ConfigError, match="PAASMAS_ROLL_NODES: paasmas-lab-paas-3 not a node"):
        roll_nodes("paasmas-lab-paas-3", cfg, "paasmas-lab")
