"""PaaSmas: load and validate the stack config, find what it names in the cloud, build the
platform, export the output contract."""

import os

import pulumi

from components.config import ConfigError, load, roll_nodes, stack_config_values
from components.planning import resource_prefix
from components.platform import Platform
from components.preflight import PulumiCloudLookup, look_up

prefix = resource_prefix(pulumi.get_project(), pulumi.get_stack())
try:
    config = load(stack_config_values())
    # The nodes `make roll` replaces in this run (ops/roll.py): only they take new user data.
    rolling = roll_nodes(os.environ.get("PAASMAS_ROLL_NODES"), config, prefix)
    facts = look_up(config, PulumiCloudLookup())
except ConfigError as error:
    # Nothing has been declared yet: the run stops here with every problem listed.
    raise pulumi.RunError(str(error)) from None

platform = Platform("paasmas", config, facts, stack=pulumi.get_stack(), prefix=prefix,
                    rolling=rolling)
for output_name, value in platform.outputs.items():
    pulumi.export(output_name, value)
