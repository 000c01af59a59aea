"""The CI examples for users call the summary and the pack the way the tools accept them."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy import preview_summary as summary

pytestmark = pytest.mark.policy

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "examples" / "github-actions" / "infrastructure-preview.yml"
JENKINSFILE = REPO / "examples" / "jenkins" / "Jenkinsfile.preview"
GROOVY_VERSION = (REPO / "pipeline" / "tools" / "groovy.version").read_text().strip()


def summary_commands(script: str) -> list[list[str]]:
    """Every `python -m policy.preview_summary ...` command line in a shell script."""
    joined = re.sub(r"\\\s*\n\s*", " ", script)
    found = []
    for match in re.finditer(r"-m policy\.preview_summary ([^\n;|&']+)", joined):
        found.append(shlex.split(match.group(1).replace('"$STACK"', "production")))
    return found


def test_workflow_previews_comments_fails_and_asks_for_approval() -> None:
    workflow: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    jobs = workflow["jobs"]
    assert set(jobs) == {"preview", "approve-destructive", "up"}
    steps = {s.get("name", s.get("uses")): s for s in jobs["preview"]["steps"]}
    preview = steps["Preview with the policy pack"]["run"]
    commands = summary_commands(preview)
    assert commands and commands[0][0] == "run"
    args = summary.build_parser().parse_args(commands[0])
    assert args.policy_pack == ["policy"] and args.out == Path("build/preview.md")
    assert "0) echo \"verdict=safe\"" in preview and "2) echo \"verdict=destructive\"" in preview
    assert "gh pr comment" in steps["Comment on the pull request"]["run"]
    assert steps["Fail on a policy violation or a failed preview"]["if"] == (
        "steps.preview.outputs.verdict == 'blocked'")
    assert jobs["approve-destructive"]["environment"] == "destructive-change"
    up = jobs["up"]["steps"][-1]["run"]
    assert "--policy-pack policy" in up
    assert summary.build_parser().parse_args(summary_commands(up)[0]).command == "check-outputs"


def test_jenkinsfile_uses_the_same_commands_and_compiles() -> None:
    text = JENKINSFILE.read_text()
    commands = summary_commands(text)
    assert [c[0] for c in commands] == ["run", "check-outputs"]
    assert summary.build_parser().parse_args(commands[0]).policy_pack == ["policy"]
    assert "if (code == 1)" in text and "input(" in text and "--policy-pack policy" in text
    java = shutil.which("java")
    cache = Path(os.environ.get("PAASMAS_CACHE", Path.home() / ".cache" / "paasmas"))
    jar = cache / "groovy" / GROOVY_VERSION / f"groovy-all-{GROOVY_VERSION}.jar"
    if java is None or not jar.is_file():
        pytest.skip(reason=f"Groovy {GROOVY_VERSION} jar or java absent: "
                    "run `make pipeline-prereqs`")
    result = subprocess.run(
        [java, "-cp", str(jar), "groovy.ui.GroovyMain",
         str(REPO / "pipeline" / "tools" / "GroovySyntaxCheck.groovy"), str(JENKINSFILE)],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.stdout.startswith("ok "), result.stdout + result.stderr
