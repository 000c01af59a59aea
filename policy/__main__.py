"""Serve the PaaSmas policy pack to the Pulumi engine (run as `python policy/` by the engine).

The rules live in policy/rules.py; this file only builds the pack, which blocks serving gRPC.
"""

import sys
from pathlib import Path

# The engine starts the pack with the pack directory as the script path; the rules import the
# output contract from the program's `components` package at the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.rules import PACK_NAME, policies

PolicyPack(
    name=PACK_NAME,
    policies=policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description="PaaSmas: no open ingress but the entry points, private database and Jenkins "
                "nodes, protected database, odd quorums with anti-affinity, no plain-text "
                "secret outputs, pinned container images.",
)
