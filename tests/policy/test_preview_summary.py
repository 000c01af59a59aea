"""The preview summary on `pulumi preview --json` output and its `--event-log`.

`recorded-dynamic-*` were recorded from the real engine (v3.260.0) on a program of
`pulumi.dynamic` resources (only `stackTrace`/`sourcePosition` removed). The `preview-*` and
`events-*` fixtures describe PaaSmas changes in the same shape (pkg/backend/display/json.go
PreviewDigest: the root stack's step carries no outputs, secrets show as "[secret]", computed
values as the engine's placeholder; stack outputs and policy events come from the event log)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policy import preview_summary as summary

pytestmark = pytest.mark.policy

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def events(name: str) -> summary.EventLog:
    return summary.read_event_log((FIXTURES / name).read_text().splitlines())


def render(name: str, log: str | None = None, **kwargs: Any) -> tuple[str, summary.Verdict]:
    log = log or name.replace("preview-", "events-").replace(".json", ".jsonl")
    return summary.render(load(name), stack="lab", events=events(log), **kwargs)


def test_recorded_engine_preview() -> None:
    preview = load("recorded-dynamic-preview.json")
    log = events("recorded-dynamic-events.jsonl")
    assert log.outputs == {"database_password": "[secret]",
                           "server_address": summary.UNKNOWN}
    changes = summary.read_changes(preview["steps"])
    assert [(c.op, c.name, c.forced_by) for c in changes] == [
        ("replace", "data-volume", ("label",)), ("update", "server", ())]
    text, verdict = summary.render(preview, stack="mini", events=log)
    assert verdict == summary.Verdict(destructive=True, blocked=False)
    assert "| replace | 1 |" in text and "| same | 1 |" in text
    assert "| replace | `data-volume` | dynamic:Resource | stack (top level) | `label` |" in text
    assert "| `database_password` | secret |" in text
    assert "[!CAUTION]" not in text  # not an OpenStack volume


def test_first_preview_creates_everything_and_is_not_destructive() -> None:
    text, verdict = render("preview-create.json")
    assert verdict == summary.Verdict(destructive=False, blocked=False)
    assert verdict.exit_code == summary.EXIT_OK
    assert "[!CAUTION]" not in text and "No resource is replaced or deleted." in text
    assert "| create | 10 |" in text
    assert "**`paasmas-database-nodes` (NodeGroup)** — 6 create" in text
    assert "| `database_password` | secret |" in text
    assert "| `database_host` | (known after apply) |" in text


def test_replacements_of_stateful_resources_raise_the_banner_and_come_first() -> None:
    text, verdict = render("preview-replace.json")
    assert verdict.exit_code == summary.EXIT_DESTRUCTIVE
    banner = text.split("\n\n")[1]
    assert banner.startswith("> [!CAUTION]")
    assert "database node `paasmas-database-nodes-0` — forced by `imageName`" in banner
    assert "data volume `paasmas-database-nodes-data-1` — forced by `availabilityZone`" in banner
    assert "load balancer `paasmas-paas-lb-lb` — forced by `vipSubnetId`" in banner
    assert banner.count("protected: the update stops here") == 2
    assert "3 replacement(s), 1 deletion(s)" in text
    # Replacements and deletions are listed before the per-component changes.
    replaced = text.index("### Replacements and deletions")
    assert replaced < text.index("### Changes by component")
    table = text[replaced:text.index("### Changes by component")]
    assert table.index("paasmas-database-nodes-0") < table.index("paasmas-jenkins-nodes-fip-0")
    assert "| delete | `paasmas-jenkins-nodes-fip-0` | networking/floatingIp:FloatingIp |" in table
    assert ("`flavorName`: `\"paasmas.large\"` → `\"paasmas.xlarge\"`; `userData`: changed "
            "(secret)") in text
    assert "`vipSubnetId` (forces replacement): `\"subnet-a\"` → (known after apply)" in text
    assert "| update | 2 |\n| replace | 3 |\n| delete | 1 |\n| same | 61 |" in text
    assert "- warning: image flatcar-stable-4230 is newer" in text


def test_only_updates_is_not_destructive() -> None:
    text, verdict = render("preview-update.json")
    assert verdict.exit_code == summary.EXIT_OK
    assert "### Replacements and deletions" not in text
    assert "`~` update `paasmas-sg-jenkins`" in text


def test_replacement_steps_collapse_and_plain_secret_outputs_block() -> None:
    text, verdict = render("preview-replacement-steps.json")
    changes = summary.read_changes(load("preview-replacement-steps.json")["steps"])
    assert [(c.op, c.name) for c in changes] == [("replace", "paasmas-paas-nodes-2")]
    assert changes[0].critical is None  # a PaaS node: destructive but no banner
    assert "[!CAUTION]" not in text
    assert verdict == summary.Verdict(destructive=True, blocked=True)
    assert verdict.exit_code == summary.EXIT_BLOCKED
    assert "`database_password` is a declared secret output but is not marked secret" in text
    assert "`debug_ca_key` carries a private key in plain text" in text
    # Neither secret reaches the comment.
    assert "pw0123456789abcdefghij" not in text and "MHcCAQEEIB" not in text
    assert "| `debug_ca_key` | [redacted] |" in text


def test_policy_violations_from_the_event_log_block() -> None:
    log = events("events-violation.jsonl")
    assert [(v.policy, v.level) for v in log.violations] == [
        ("no-floating-ip-on-private-nodes", "mandatory"), ("pinned-container-images", "advisory")]
    text, verdict = render("preview-create.json", "events-violation.jsonl")
    assert verdict.exit_code == summary.EXIT_BLOCKED
    assert "1 mandatory policy violation(s)" in text
    assert ("| `no-floating-ip-on-private-nodes` | mandatory | `paasmas-database-nodes-fip-0` |"
            in text)
    advisory_only, verdict = summary.render(
        load("preview-create.json"), stack="lab",
        events=summary.EventLog(log.violations[1:], log.outputs))
    assert verdict.exit_code == summary.EXIT_OK
    assert "| `pinned-container-images` | advisory | stack |" in advisory_only


def test_failed_preview_blocks_and_its_error_is_redacted() -> None:
    failure = ("error: preview failed\npassword=hunter2hunter2\n"
               "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----")
    text, verdict = summary.render({}, stack="lab", failure=failure)
    assert verdict.exit_code == summary.EXIT_BLOCKED
    assert "### Preview failed" in text and "error: preview failed" in text
    assert "hunter2" not in text and "abc" not in text
    assert "password=[redacted]" in text and "[redacted PEM]" in text


@pytest.mark.parametrize(("name", "value", "shown"), [
    ("flavorName", "m1.large", '`"m1.large"`'),
    ("adminPass", "hunter2", "[redacted]"),
    ("userData", "#cloud-config", "[redacted]"),
    ("description", "[secret]", "[secret]"),
    ("metadata", {"role": "database"}, '`{"role": "database"}`'),
    ("cidr", summary.UNKNOWN, "(known after apply)"),
    ("description", "x" * 200, "(long value)"),
    ("notes", "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----", "[redacted]"),
])
def test_values_are_shown_only_when_short_and_not_sensitive(name: str, value: Any,
                                                            shown: str) -> None:
    assert summary.show_value(name, value) == shown


def test_urn_and_path_parsing() -> None:
    urn = ("urn:pulumi:lab::paasmas::paasmas:index:Platform$paasmas:index:NodeGroup"
           "$openstack:compute/instance:Instance::paasmas-database-nodes-0")
    assert summary.parse_urn(urn) == (
        "paasmas-database-nodes-0", "openstack:compute/instance:Instance",
        ("paasmas:index:Platform", "paasmas:index:NodeGroup"))
    value = {"networks": [{"port": "p-1"}], "tags": {"a.b": 1}}
    assert summary.get_path(value, "networks[0].port") == "p-1"
    assert summary.get_path(value, 'tags["a.b"]') == 1
    assert summary.get_path(value, "networks[3].port") is None


def test_cli_render_writes_the_file_and_exits_with_the_verdict(tmp_path: Path) -> None:
    out = tmp_path / "preview.md"
    code = summary.main(["render", str(FIXTURES / "preview-replace.json"), "--stack", "lab",
                         "--out", str(out)])
    assert code == summary.EXIT_DESTRUCTIVE
    assert out.read_text().startswith("## Pulumi preview: stack `lab`")


@pytest.mark.parametrize(("outputs", "code"), [
    ({"database_password": "[secret]", "database_host": "10.0.0.5"}, summary.EXIT_OK),
    ({"database_password": "plaintext-password"}, summary.EXIT_BLOCKED),
    # a preview of a new stack cannot know the value yet: judged when `up` resolves it
    ({"database_password": summary.UNKNOWN}, summary.EXIT_OK),
    ({"ca": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----"}, summary.EXIT_BLOCKED),
])
def test_check_outputs(outputs: dict[str, Any], code: int, tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    assert summary.main(["check-outputs", str(path)]) == code


def test_run_passes_event_log_and_policy_pack_to_pulumi(tmp_path: Path) -> None:
    """The `run` command's contract with the CLI, with a recording stand-in for `pulumi` (the
    real CLI runs in test_policy_engine.py)."""
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    fake.write_text(f"""#!{sys.executable}
import json, sys
args = sys.argv[1:]
open({str(tmp_path / 'args.json')!r}, "w").write(json.dumps(args))
log = args[args.index("--event-log") + 1]
open(log, "w").write(open({str(FIXTURES / 'events-violation.jsonl')!r}).read())
print(open({str(FIXTURES / 'preview-create.json')!r}).read())
sys.exit(255)
""")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    out = tmp_path / "preview.md"
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, "-m", "policy.preview_summary", "run", "--stack", "lab",
         "--policy-pack", "policy", "--out", str(out), "--json-out", str(tmp_path / "p.json")],
        cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == summary.EXIT_BLOCKED, result.stderr
    args = json.loads((tmp_path / "args.json").read_text())
    assert args[:5] == ["preview", "--json", "--non-interactive", "--stack", "lab"]
    assert args[-2:] == ["--policy-pack", "policy"]
    text = out.read_text()
    assert "pulumi preview exited with 255" in text
    assert "`no-floating-ip-on-private-nodes`" in text
    assert json.loads((tmp_path / "p.json").read_text())["changeSummary"] == {"create": 10}
