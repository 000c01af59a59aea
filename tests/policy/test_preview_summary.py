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


# ---- inputs that are not what the engine writes: blocked, one line, nothing written ----------

URN = "urn:pulumi:lab::paasmas::openstack:compute/instance:Instance::paasmas-paas-nodes-0"
PREVIEW_FIX = ("pass what `pulumi preview --json` prints (or let `python -m "
               "policy.preview_summary run` call it)")
EVENTS_FIX = "pass the file `pulumi preview --event-log FILE` wrote, or leave --events out"


def step(op: str = "update", **extra: Any) -> dict[str, Any]:
    return {"op": op, "urn": URN, **extra}


BAD_PREVIEWS = [
    pytest.param("{}", "changeSummary: missing (every finished preview has one)",
                 id="empty-object"),
    pytest.param("[]", "expected a JSON object with `changeSummary` and `steps`, found a list",
                 id="list"),
    pytest.param("null", "expected a JSON object with `changeSummary` and `steps`, found null",
                 id="null"),
    pytest.param('{"changeSummary": {"delete": 1}, "steps": [{"op": "delete", "urn"',
                 "not JSON (Expecting ':' delimiter: line 1 column 66)", id="truncated"),
    pytest.param("", "not JSON (Expecting value: line 1 column 1)", id="empty-file"),
    pytest.param(json.dumps({"steps": [step("delete")]}),
                 "changeSummary: missing (every finished preview has one)",
                 id="steps-without-summary"),
    pytest.param(json.dumps({"changeSummary": {"update": 1}, "steps": [step("frobnicate")]}),
                 "steps[0].op: 'frobnicate' is not a Pulumi step operation", id="unknown-op"),
    pytest.param(json.dumps({"changeSummary": {"update": 1}, "steps": [{"urn": URN}]}),
                 "steps[0].op: missing", id="op-missing"),
    pytest.param(json.dumps({"changeSummary": {"delete": 1}, "steps": {"0": step("delete")}}),
                 "steps: expected a list of steps, found an object", id="steps-an-object"),
    pytest.param(json.dumps({"changeSummary": {}, "steps": ["delete"]}),
                 "steps[0]: expected a step object, found a string", id="step-a-string"),
    pytest.param(json.dumps({"changeSummary": {"update": 1}, "steps": [{"op": "update"}]}),
                 "steps[0].urn: expected a urn:pulumi:... string, found None", id="urn-missing"),
    pytest.param(json.dumps({"changeSummary": [["delete", 2]], "steps": []}),
                 "changeSummary: expected an object of operation counts, found a list",
                 id="summary-a-list"),
    pytest.param(json.dumps({"changeSummary": {"delete": "2"}}),
                 "changeSummary.delete: expected a count, found '2'", id="count-a-string"),
    pytest.param(json.dumps({"changeSummary": {"delete": -1}}),
                 "changeSummary.delete: expected a count, found -1", id="count-negative"),
    pytest.param(json.dumps({"changeSummary": {"destroy": 1}}),
                 "changeSummary.destroy: not a Pulumi step operation", id="summary-unknown-op"),
    pytest.param(json.dumps({"changeSummary": {"replace": 1},
                             "steps": [step("replace", replaceReasons="imageName")]}),
                 "steps[0].replaceReasons: expected a list of property names, found 'imageName'",
                 id="reasons-a-string"),
    pytest.param(json.dumps({"changeSummary": {"update": 1},
                             "steps": [step(newState=["inputs"])]}),
                 "steps[0].newState: expected a resource state object or null, found a list",
                 id="state-a-list"),
    pytest.param(json.dumps({"changeSummary": {"update": 1},
                             "steps": [step(detailedDiff={"imageName": "update-replace"})]}),
                 "steps[0].detailedDiff['imageName']: expected an object with a string `kind`, "
                 "found 'update-replace'", id="diff-kind-bare"),
    pytest.param(json.dumps({"changeSummary": {"same": 1},
                             "diagnostics": [{"severity": "fatal", "message": "x"}]}),
                 "diagnostics[0].severity: 'fatal' is not a severity (debug, error, info, "
                 "infoerr, warning)", id="unknown-severity"),
]


@pytest.mark.parametrize(("text", "message"), BAD_PREVIEWS)
def test_a_preview_that_is_not_preview_json_is_blocked_with_one_line(
        text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    preview, out = tmp_path / "preview.json", tmp_path / "preview.md"
    preview.write_text(text)
    code = summary.main(["render", str(preview), "--out", str(out)])
    assert code == summary.EXIT_BLOCKED
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.startswith(f"preview summary: {preview}: ")
    assert message in printed.err and printed.err.endswith(f" — {PREVIEW_FIX}\n")
    assert printed.err.count("\n") == 1 and "Traceback" not in printed.err
    assert not out.exists()  # no summary that could be posted as "no destructive change"


GOOD_PREVIEW = FIXTURES / "preview-create.json"
OUTPUTS_EVENT = json.loads((FIXTURES / "events-create.jsonl").read_text().splitlines()[1])
POLICY_EVENT = json.loads((FIXTURES / "events-violation.jsonl").read_text().splitlines()[1])


def with_policy(**changes: Any) -> str:
    return json.dumps({**POLICY_EVENT, "policyEvent": {**POLICY_EVENT["policyEvent"], **changes}})


def with_new_state(**changes: Any) -> str:
    metadata = OUTPUTS_EVENT["resOutputsEvent"]["metadata"]
    return json.dumps({"resOutputsEvent": {"metadata": {
        **metadata, "new": {**metadata["new"], **changes}}}})


BAD_EVENT_LOGS = [
    pytest.param('{"sequence": 0}\n{"sequence": 1, "policyEvent": {"policyName": "no-fl',
                 "line 2: not JSON (Unterminated string starting at: line 1 column 47)",
                 id="truncated-line"),
    pytest.param("[]\n", "line 1: expected an engine event object, found a list", id="list-line"),
    pytest.param("null\n", "line 1: expected an engine event object, found null", id="null-line"),
    pytest.param("{}\nnot json\n", "line 2: not JSON (Expecting value: line 1 column 1)",
                 id="text-line"),
    pytest.param(with_policy(enforcementLevel="MANDATORY"),
                 "line 1: policyEvent.enforcementLevel: 'MANDATORY' is not a level (advisory, "
                 "disabled, mandatory, remediate)", id="unknown-level"),
    pytest.param(with_policy(enforcementLevel=None),
                 "line 1: policyEvent.enforcementLevel: None is not a level", id="level-missing"),
    pytest.param(with_policy(message=["a", "b"]),
                 "line 1: policyEvent.message: expected a string, found ['a', 'b']",
                 id="message-a-list"),
    pytest.param(json.dumps({"policyEvent": "mandatory violation"}),
                 "line 1: policyEvent: expected an object, found a string",
                 id="policy-event-a-string"),
    pytest.param(with_new_state(outputs=[["database_password", "plain"]]),
                 "line 1: resOutputsEvent.metadata.new.outputs: expected an object, found a list",
                 id="outputs-a-list"),
    pytest.param(json.dumps({"resOutputsEvent": {"metadata": None}}),
                 "line 1: resOutputsEvent.metadata: expected an object, found null",
                 id="metadata-null"),
]


@pytest.mark.parametrize(("text", "message"), BAD_EVENT_LOGS)
def test_an_event_log_line_that_is_not_an_engine_event_is_blocked(
        text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log, out = tmp_path / "events.jsonl", tmp_path / "preview.md"
    log.write_text(text)
    code = summary.main(["render", str(GOOD_PREVIEW), "--events", str(log), "--out", str(out)])
    assert code == summary.EXIT_BLOCKED
    printed = capsys.readouterr()
    assert printed.err.startswith(f"preview summary: {log} line ")
    assert message in printed.err and printed.err.endswith(f" — {EVENTS_FIX}\n")
    assert printed.err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize(("argv", "message"), [
    pytest.param(["render", "{tmp}/missing.json"],
                 "{tmp}/missing.json: cannot be read (No such file or directory) — "
                 + PREVIEW_FIX, id="preview-missing"),
    pytest.param(["render", str(GOOD_PREVIEW), "--events", "{tmp}/missing.jsonl"],
                 "{tmp}/missing.jsonl: cannot be read (No such file or directory) — "
                 + EVENTS_FIX, id="events-missing"),
    pytest.param(["check-outputs", "{tmp}/missing.json"],
                 "{tmp}/missing.json: cannot be read (No such file or directory) — pass what "
                 "`pulumi stack output --json` prints", id="outputs-missing"),
])
def test_a_missing_input_file_is_named(argv: list[str], message: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code = summary.main([arg.format(tmp=tmp_path) for arg in argv])
    assert code == summary.EXIT_BLOCKED
    assert capsys.readouterr().err == f"preview summary: {message.format(tmp=tmp_path)}\n"


@pytest.mark.parametrize(("text", "message"), [
    pytest.param('{"database_password": "[secr', "not JSON (Unterminated string starting at: "
                 "line 1 column 23)", id="truncated"),
    pytest.param("[]", "expected a JSON object of output names, found a list", id="list"),
    pytest.param("null", "expected a JSON object of output names, found null", id="null"),
    pytest.param('"database_password"', "expected a JSON object of output names, found a string",
                 id="string"),
])
def test_check_outputs_refuses_what_is_not_stack_outputs(
        text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(text)
    assert summary.main(["check-outputs", str(path)]) == summary.EXIT_BLOCKED
    printed = capsys.readouterr()
    assert printed.out == ""  # no "N checked" verdict
    assert printed.err == (f"preview summary: {path}: {message} — pass what "
                           "`pulumi stack output --json` prints\n")


# ---- what the engine counts is destructive even when no step shows it -----------------------

@pytest.mark.parametrize(("preview", "shown"), [
    pytest.param({"changeSummary": {"delete": 2}}, "2 delete", id="summary-only"),
    pytest.param({"changeSummary": {"delete": 2, "same": 3}, "steps": []}, "2 delete",
                 id="empty-steps"),
    pytest.param({"changeSummary": {"replace": 1, "update": 1}, "steps": [step("update")]},
                 "1 replace", id="steps-show-an-update"),
    pytest.param({"changeSummary": {"delete-replaced": 1, "create-replacement": 1}},
                 "1 create-replacement, 1 delete-replaced", id="replacement-steps"),
    pytest.param({"changeSummary": {"remove-pending-replace": 1}}, "1 remove-pending-replace",
                 id="pending-replace"),
])
def test_a_change_summary_that_counts_deletes_is_destructive(
        preview: dict[str, Any], shown: str, tmp_path: Path) -> None:
    text, verdict = summary.render(preview, stack="lab")
    assert verdict == summary.Verdict(destructive=True, blocked=False)
    assert f"**Destructive:** the engine counts {shown} but no step shows which resource" in text
    assert "No resource is replaced or deleted." not in text
    path, out = tmp_path / "preview.json", tmp_path / "preview.md"
    path.write_text(json.dumps(preview))
    assert summary.main(["render", str(path), "--out", str(out)]) == summary.EXIT_DESTRUCTIVE


@pytest.mark.parametrize("preview", [{}, [], None, {"steps": []}, {"changeSummary": "none"}],
                         ids=["empty-object", "list", "null", "no-summary", "summary-a-string"])
def test_render_itself_blocks_what_is_not_a_preview(preview: Any) -> None:
    """The library function fails closed too: never "no resource is replaced" for `{}`."""
    text, verdict = summary.render(preview, stack="lab")
    assert verdict == summary.Verdict(destructive=False, blocked=True)
    assert "**Blocked:** the preview JSON is not `pulumi preview --json` output." in text
    assert "### Unreadable preview" in text and f"Fix: {PREVIEW_FIX}." in text
    assert "No resource is replaced or deleted." not in text


def fake_pulumi(tmp_path: Path, stdout: str, log: str | None, code: int) -> dict[str, str]:
    """A stand-in `pulumi` on PATH that prints `stdout`, writes `log` as the event log (none if
    None) and exits with `code`."""
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    (tmp_path / "stdout").write_text(stdout)
    if log is not None:
        (tmp_path / "log").write_text(log)
    fake.write_text(f"""#!{sys.executable}
import shutil, sys
args = sys.argv[1:]
if {log is not None}:
    shutil.copy({str(tmp_path / 'log')!r}, args[args.index("--event-log") + 1])
sys.stdout.write(open({str(tmp_path / 'stdout')!r}).read())
sys.exit({code})
""")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}


CREATE_EVENTS = (FIXTURES / "events-create.jsonl").read_text()


@pytest.mark.parametrize(("stdout", "log", "message"), [
    pytest.param('{"steps": [', CREATE_EVENTS, "preview summary: pulumi preview --json output: "
                 "not JSON (Expecting value: line 1 column 12)", id="truncated-stdout"),
    pytest.param("{}", CREATE_EVENTS, "preview summary: pulumi preview --json output: "
                 "changeSummary: missing (every finished preview has one)", id="empty-object"),
    pytest.param(GOOD_PREVIEW.read_text(), "[]\n", "preview summary: pulumi's event log line 1: "
                 "expected an engine event object, found a list", id="bad-event-log"),
    pytest.param(GOOD_PREVIEW.read_text(), None, "preview summary: pulumi's event log: not "
                 "written, so policy violations and stack outputs are unknown", id="no-event-log"),
])
def test_run_blocks_on_what_pulumi_printed_that_cannot_be_read(
        stdout: str, log: str | None, message: str, tmp_path: Path) -> None:
    """`run` still writes the (blocked) summary: CI posts it on the pull request."""
    out = tmp_path / "preview.md"
    result = subprocess.run(
        [sys.executable, "-m", "policy.preview_summary", "run", "--stack", "lab", "--out",
         str(out)], cwd=REPO, env=fake_pulumi(tmp_path, stdout, log, 0), capture_output=True,
        text=True, check=False)
    assert result.returncode == summary.EXIT_BLOCKED, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    text = out.read_text()
    assert "**Blocked:**" in text and "No resource is replaced or deleted." not in text


def test_many_problems_stay_one_line(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    preview = tmp_path / "preview.json"
    preview.write_text(json.dumps({"changeSummary": {"update": 12},
                                   "steps": [{"op": "zap", "urn": "x"}] * 12}))
    assert summary.main(["render", str(preview)]) == summary.EXIT_BLOCKED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.count("is not a Pulumi step operation") == 4
    assert "steps[3].urn: expected a urn:pulumi:... string, found 'x' (and 16 more) — " in err
