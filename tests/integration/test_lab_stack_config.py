"""`pulumi up` of the lab stack with an invalid configuration: the run stops before anything
exists, every problem named by its key, and the lab project is left exactly as it was.

Runs the real Pulumi CLI from the toolchain (`make setup`) on the real program, against the
local cloud (`make lab-up`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from lab_cloud import unique_name
from lab_stack import foreign_residue, lab_stack_config, new_stack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning"),
]


def up_that_creates_nothing(cloud: Any, tmp_path: Path, config: dict[str, Any]) -> str:
    """`pulumi up` of a stack with this config, which must fail having created nothing: nothing
    in the state, nothing in the project, nothing written next to the stack config. Returns
    what the run printed."""
    before = foreign_residue(cloud)
    stack = new_stack(tmp_path, unique_name("stack"), config)
    result = stack.run("up", "--yes")
    output = str(result.stdout + result.stderr)
    assert result.returncode != 0, output
    assert stack.resource_count() == 0
    assert foreign_residue(cloud) == before
    assert os.listdir(stack.project / "stacks") == [f"Pulumi.{stack.name}.yaml"]
    return output


def test_invalid_config_stops_the_run_naming_each_key_and_creates_nothing(
    cloud: Any, tmp_path: Path
) -> None:
    config = lab_stack_config()
    config["paasmas:network"]["cidr"] = "10.20.0.0/33"
    config["paasmas:database"]["size"] = 2
    output = up_that_creates_nothing(cloud, tmp_path, config)
    assert "network.cidr: '10.20.0.0/33' is not a CIDR" in output
    assert "database.size: 2" in output
    assert "2 problem(s)" in output


def test_names_missing_from_the_cloud_stop_the_run_before_anything_is_created(
    cloud: Any, tmp_path: Path
) -> None:
    """A valid config naming an image, a flavor and a DNS zone the cloud does not have (the lab
    runs no Designate at all): the program's lookups (components/preflight.py) run before it
    declares anything."""
    config = lab_stack_config()
    config["paasmas:image"] = "flatcar-typo"
    config["paasmas:database"]["flavor"] = "paasmas.huge"
    config["paasmas:paas"]["dns_zone"] = "paasmas.test."
    output = up_that_creates_nothing(cloud, tmp_path, config)
    assert "bastion.image: image 'flatcar-typo' not found in the cloud" in output
    assert "database.flavor: flavor 'paasmas.huge' not found in the cloud" in output
    assert "paas.dns_zone: DNS zone 'paasmas.test.' not found in the cloud" in output
    assert "3 problem(s)" in output


def test_an_ssh_repository_url_stops_the_run_before_anything_is_created(
    cloud: Any, tmp_path: Path
) -> None:
    """Jenkins' GitHub branch source needs an https URL. The loader refused only non-Git URLs,
    so an SSH URL failed while the Jenkins user data was rendered, after the network, the
    security groups and the other nodes had been created."""
    config = lab_stack_config()
    config["paasmas:pipeline"]["repository"] = "git@github.com:paasmas/ghost.git"
    output = up_that_creates_nothing(cloud, tmp_path, config)
    assert ("pipeline.repository: 'git@github.com:paasmas/ghost.git' is not an https URL"
            in output)
    assert "https://github.com/paasmas/ghost.git" in output  # the fix names the https URL
    assert "1 problem(s)" in output


def test_an_ssh_url_and_a_long_app_name_are_both_named_before_anything_is_created(
    cloud: Any, tmp_path: Path
) -> None:
    """30 characters passed the loader's old limit of 40; pr-<N>-<app> must fit a 32-character
    MySQL user, so the renderer and the deploy script allow 24."""
    config = lab_stack_config()
    app = "ghost-" + "x" * 24
    config["paasmas:pipeline"].update(repository="ssh://git@github.com/paasmas/ghost.git",
                                      app_name=app)
    output = up_that_creates_nothing(cloud, tmp_path, config)
    assert ("pipeline.repository: 'ssh://git@github.com/paasmas/ghost.git' is not an https URL"
            in output)
    assert f"pipeline.app_name: '{app}' is 30 characters long" in output
    assert "2 problem(s)" in output
