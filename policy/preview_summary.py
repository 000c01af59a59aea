"""A stack preview as Markdown for a pull-request comment; the exit code says how risky it is.

    python -m policy.preview_summary run --stack lab [--policy-pack policy] [--out FILE]
    python -m policy.preview_summary render PREVIEW.json [--events EVENTS.jsonl] [--out FILE]
    python -m policy.preview_summary check-outputs OUTPUTS.json   # `pulumi stack output --json`

`run` runs `pulumi preview --json --event-log ...` itself; `render` reads what it saved. The
Markdown lists replacements and deletions first with the property forcing each replacement,
then every change grouped by component (parent resource), stack outputs and policy violations.
Values are shown only when short and not sensitive; secrets never appear.

Exit codes: 0 no destructive change; 2 destructive (a replace or delete: ask for an extra
approval); 1 blocked (the preview failed, a mandatory policy was violated, or a declared secret
output is not marked secret). Blocked wins over destructive.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.outputs import SECRET_OUTPUTS

EXIT_OK = 0
EXIT_BLOCKED = 1
EXIT_DESTRUCTIVE = 2

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's placeholder for computed values
SECRET = "[secret]"  # how `--json` shows a secret value
STACK_TYPE = "pulumi:pulumi:Stack"

# Replacement shows as one logical `replace` step, or as its parts with --show-replacement-steps.
REPLACE_OPS = frozenset({"replace", "create-replacement", "delete-replaced", "read-replacement",
                         "import-replacement", "discard-replaced"})
DELETE_OPS = frozenset({"delete"})
OP_ORDER = ("create", "update", "replace", "delete", "read", "import", "refresh", "same")
OP_MARK = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "read": ">",
           "import": "=", "refresh": "~", "same": " "}

DATABASE_NODE = "database node"
DATA_VOLUME = "data volume"
LOAD_BALANCER = "load balancer"

SENSITIVE_NAME = re.compile(r"pass(word)?|secret|token|private|key|cert|user_?data|pem",
                            re.IGNORECASE)
PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
PEM_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
ASSIGNED_SECRET = re.compile(r"((?:password|passwd|secret|token)[\w-]*\s*[=:]\s*)(\S+)",
                             re.IGNORECASE)
MAX_VALUE = 60
# GitHub rejects comments over 65,536 characters.
MAX_MARKDOWN = 60_000


def redact_text(text: str) -> str:
    """Free text (diagnostics, errors) without PEM blocks or `password=...` values."""
    text = PEM_BLOCK.sub("[redacted PEM]", text)
    return ASSIGNED_SECRET.sub(lambda m: f"{m.group(1)}[redacted]", text)


# ---------------------------------------------------------------------------------------------
# Reading the preview


def parse_urn(urn: str) -> tuple[str, str, tuple[str, ...]]:
    """(name, type, parent types) from urn:pulumi:<stack>::<project>::<a$b$type>::<name>."""
    parts = urn.split("::")
    qualified = parts[2] if len(parts) > 3 else ""
    chain = tuple(qualified.split("$"))
    return parts[-1], chain[-1], chain[:-1]


def get_path(value: Any, path: str) -> Any:
    """A property by detailed-diff path: `a.b[0].c`, `["key.with.dots"]`."""
    for key in re.findall(r'\["([^"]*)"\]|\[(\d+)\]|([^.\[\]]+)', path):
        quoted, index, plain = key
        if index:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) \
                else None
        else:
            value = value.get(quoted or plain) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


@dataclass
class Change:
    op: str
    urn: str
    name: str
    type: str
    parents: tuple[str, ...]
    parent: str | None
    protected: bool
    old: Mapping[str, Any]
    new: Mapping[str, Any]
    replace_reasons: tuple[str, ...] = ()
    diff_reasons: tuple[str, ...] = ()
    detailed: dict[str, str] = field(default_factory=dict)

    @property
    def short_type(self) -> str:
        return self.type.split(":", 1)[-1] if self.type.count(":") >= 2 else self.type

    @property
    def role(self) -> str | None:
        for inputs in (self.old, self.new):
            role = get_path(inputs, "metadata.role")
            if isinstance(role, str):
                return role
        return None

    @property
    def critical(self) -> str | None:
        """What makes replacing or deleting this resource dangerous, if anything."""
        if self.type == "openstack:compute/instance:Instance" and (
                self.role == "database" or (self.role is None and any(
                    p.endswith(":DatabaseCluster") for p in self.parents)
                    and "-lb-" not in self.name)):
            return DATABASE_NODE
        if self.type == "openstack:blockstorage/volume:Volume":
            return DATA_VOLUME
        if self.type == "openstack:loadbalancer/loadBalancer:LoadBalancer":
            return LOAD_BALANCER
        return None

    @property
    def forced_by(self) -> tuple[str, ...]:
        if self.replace_reasons:
            return self.replace_reasons
        return tuple(path for path, kind in sorted(self.detailed.items())
                     if kind.endswith("-replace"))

    @property
    def changed(self) -> tuple[str, ...]:
        return tuple(sorted(self.detailed)) or self.diff_reasons or self.replace_reasons


def _state(step: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    state = step.get(key) or {}
    return state if isinstance(state, dict) else {}


def read_changes(steps: Iterable[Mapping[str, Any]]) -> list[Change]:
    """One change per resource (replacement steps collapsed), without the stack itself."""
    by_urn: dict[str, Change] = {}
    for step in steps:
        urn = str(step.get("urn", ""))
        name, type_, parents = parse_urn(urn)
        if type_ == STACK_TYPE:
            continue
        op = str(step.get("op", ""))
        op = "replace" if op in REPLACE_OPS else op
        old, new = _state(step, "oldState"), _state(step, "newState")
        change = by_urn.get(urn)
        if change is None:
            change = by_urn[urn] = Change(
                op=op, urn=urn, name=name, type=type_, parents=parents,
                parent=new.get("parent") or old.get("parent"),
                protected=bool(old.get("protect") or new.get("protect")),
                old=old.get("inputs") or {}, new=new.get("inputs") or {})
        elif op == "replace":
            change.op = "replace"
        change.protected = change.protected or bool(old.get("protect"))
        change.old = change.old or old.get("inputs") or {}
        change.new = change.new or new.get("inputs") or {}
        change.replace_reasons = tuple(dict.fromkeys(
            (*change.replace_reasons, *(step.get("replaceReasons") or ()))))
        change.diff_reasons = tuple(dict.fromkeys(
            (*change.diff_reasons, *(step.get("diffReasons") or ()))))
        for path, diff in (step.get("detailedDiff") or {}).items():
            change.detailed[path] = str(diff.get("kind", "update"))
    return list(by_urn.values())


def stack_outputs(steps: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    for step in steps:
        if parse_urn(str(step.get("urn", "")))[1] == STACK_TYPE:
            new = _state(step, "newState") or _state(step, "oldState")
            outputs = new.get("outputs")
            return dict(outputs) if isinstance(outputs, dict) else None
    return None


@dataclass(frozen=True)
class PolicyViolation:
    policy: str
    pack: str
    level: str
    message: str
    urn: str


SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def _displayed(value: Any) -> Any:
    """An event-log property value as `--json` shows it: secrets (sig + ciphertext) as [secret]."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return SECRET
        return {k: _displayed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_displayed(v) for v in value]
    return value


@dataclass(frozen=True)
class EventLog:
    """What `pulumi preview --event-log` adds to `--json`: policy events and the stack outputs
    (the JSON digest leaves both out)."""

    violations: tuple[PolicyViolation, ...] = ()
    outputs: dict[str, Any] | None = None


def read_event_log(lines: Iterable[str]) -> EventLog:
    """Engine events, one JSON object a line."""
    violations: list[PolicyViolation] = []
    outputs: dict[str, Any] | None = None
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(event, dict):
            continue
        if policy := event.get("policyEvent"):
            violations.append(PolicyViolation(
                policy=policy.get("policyName", ""), pack=policy.get("policyPackName", ""),
                level=policy.get("enforcementLevel", ""), message=policy.get("message", ""),
                urn=policy.get("resourceUrn", "")))
        metadata = (event.get("resOutputsEvent") or {}).get("metadata") or {}
        if parse_urn(str(metadata.get("urn", "")))[1] == STACK_TYPE:
            # The last outputs event of the stack carries every export (later ones win).
            registered = (metadata.get("new") or {}).get("outputs")
            if isinstance(registered, dict):
                outputs = _displayed(registered)
    return EventLog(tuple(dict.fromkeys(violations)), outputs)


# ---------------------------------------------------------------------------------------------
# Judging it


def output_problems(outputs: Mapping[str, Any]) -> list[str]:
    """Declared secret outputs that are not marked secret; private keys in any plain output."""
    problems = []
    for name in sorted(SECRET_OUTPUTS & set(outputs)):
        # A value a preview cannot know yet carries no secret mark either: judged at `up`.
        if outputs[name] not in (SECRET, UNKNOWN):
            problems.append(f"`{name}` is a declared secret output but is not marked secret")
    for name, value in sorted(outputs.items()):
        if name not in SECRET_OUTPUTS and PEM_PRIVATE_KEY.search(json.dumps(value)):
            problems.append(f"`{name}` carries a private key in plain text")
    return problems


@dataclass(frozen=True)
class Verdict:
    destructive: bool
    blocked: bool

    @property
    def exit_code(self) -> int:
        if self.blocked:
            return EXIT_BLOCKED
        return EXIT_DESTRUCTIVE if self.destructive else EXIT_OK


# ---------------------------------------------------------------------------------------------
# Writing it


def show_value(name: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if value == SECRET:
        return "[secret]"
    if value == UNKNOWN:
        return "(known after apply)"
    text = json.dumps(value)
    if SENSITIVE_NAME.search(name) or PEM_BLOCK.search(str(value)) or "[secret]" in text:
        return "[redacted]"
    if len(text) > MAX_VALUE:
        return "(long value)"
    return f"`{text}`"


def describe_property(change: Change, path: str) -> str:
    kind = change.detailed.get(path, "")
    replace = " (forces replacement)" if kind.endswith("-replace") or (
        path in change.replace_reasons) else ""
    if kind.startswith("add"):
        detail = f"added {show_value(path, get_path(change.new, path))}"
    elif kind.startswith("delete"):
        detail = "removed"
    elif change.op in ("update", "replace"):
        before, after = get_path(change.old, path), get_path(change.new, path)
        detail = ("changed (secret)" if SECRET in (before, after) else
                  f"{show_value(path, before)} → {show_value(path, after)}")
    else:
        detail = ""
    return f"`{path}`{replace}{': ' + detail if detail else ''}"


def component_label(parent: str | None) -> str:
    if not parent:
        return "(no parent)"
    name, type_, _ = parse_urn(parent)
    if type_ == STACK_TYPE:
        return "stack (top level)"
    return f"`{name}` ({type_.rsplit(':', 1)[-1]})"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return out


NO_EVENTS = EventLog()


def render(preview: Mapping[str, Any], *, stack: str, events: EventLog = NO_EVENTS,
           failure: str | None = None) -> tuple[str, Verdict]:
    steps = list(preview.get("steps") or ())
    policy_violations = events.violations
    changes = read_changes(steps)
    destructive = [c for c in changes if c.op in ("replace", "delete")]
    critical = [c for c in destructive if c.critical]
    outputs = events.outputs if events.outputs is not None else stack_outputs(steps)
    problems = output_problems(outputs) if outputs is not None else []
    mandatory = [v for v in policy_violations if v.level == "mandatory"]
    errors = [d for d in preview.get("diagnostics") or () if d.get("severity") == "error"]
    blocked = bool(failure or mandatory or problems or errors)
    verdict = Verdict(destructive=bool(destructive), blocked=blocked)

    lines = [f"## Pulumi preview: stack `{stack}`", ""]
    if critical:
        lines += ["> [!CAUTION]",
                  "> **A database node, data volume or load balancer would be replaced or "
                  "deleted.** A replaced database node or volume starts empty (data is lost "
                  "unless restored); a replaced load balancer gets a new address.", ">"]
        lines += [f"> - **{c.op}** {c.critical} `{c.name}`"
                  + (f" — forced by {', '.join(f'`{p}`' for p in c.forced_by)}"
                     if c.op == "replace" and c.forced_by else "")
                  + (" (protected: the update stops here until it is unprotected)"
                     if c.protected else "") for c in critical]
        lines.append("")
    if blocked:
        lines += ["**Blocked:** " + "; ".join(filter(None, [
            "the preview failed" if failure or errors else "",
            f"{len(mandatory)} mandatory policy violation(s)" if mandatory else "",
            f"{len(problems)} stack output problem(s)" if problems else ""])) + ".", ""]
    if destructive:
        counts = Counter(c.op for c in destructive)
        lines += [f"**Destructive:** {counts['replace']} replacement(s), {counts['delete']} "
                  f"deletion(s) — this change needs an extra approval.", ""]
    elif not blocked:
        lines += ["No resource is replaced or deleted.", ""]

    summary = preview.get("changeSummary") or dict(Counter(c.op for c in changes))
    ordered = sorted(summary, key=lambda op: (OP_ORDER.index(op) if op in OP_ORDER else 99, op))
    lines += _table(("operation", "resources"), [(op, str(summary[op])) for op in ordered])
    lines.append("")

    if mandatory or policy_violations:
        lines += ["### Policy violations", ""]
        lines += _table(("policy", "level", "resource", "message"), [
            (f"`{v.policy}`", v.level, f"`{parse_urn(v.urn)[0]}`" if v.urn else "stack",
             redact_text(v.message)) for v in policy_violations])
        lines.append("")
    if failure:
        lines += ["### Preview failed", "", "```", redact_text(failure)[:4200], "```", ""]

    if destructive:
        lines += ["### Replacements and deletions", ""]
        lines += _table(("operation", "resource", "type", "component", "forced by"), [
            (c.op + (" (protected)" if c.protected else ""), f"`{c.name}`", c.short_type,
             component_label(c.parent),
             ", ".join(f"`{p}`" for p in c.forced_by) if c.op == "replace" else "—")
            for c in sorted(destructive, key=lambda c: (c.critical is None, c.op, c.name))])
        lines.append("")

    visible = [c for c in changes if c.op != "same"]
    if visible:
        lines += ["### Changes by component", ""]
        by_parent: dict[str, list[Change]] = {}
        for change in visible:
            by_parent.setdefault(component_label(change.parent), []).append(change)
        for label in sorted(by_parent):
            group = sorted(by_parent[label], key=lambda c: (OP_ORDER.index(c.op)
                                                            if c.op in OP_ORDER else 99, c.name))
            ops = Counter(c.op for c in group)
            lines.append(f"**{label}** — " + ", ".join(f"{n} {op}" for op, n in sorted(
                ops.items(), key=lambda item: OP_ORDER.index(item[0])
                if item[0] in OP_ORDER else 99)))
            for change in group:
                detail = ""
                if change.op in ("update", "replace") and change.changed:
                    detail = ": " + "; ".join(describe_property(change, p)
                                              for p in change.changed)
                lines.append(f"- `{OP_MARK.get(change.op, '?')}` {change.op} "
                             f"`{change.name}` ({change.short_type}){detail}")
            lines.append("")

    if outputs is None:
        lines += ["### Stack outputs", "", "Not in this preview (it has no event log): check "
                  "them after `pulumi up` with `make policy-outputs`.", ""]
    else:
        lines += ["### Stack outputs", ""]
        lines += _table(("output", "value"), [
            (f"`{name}`", "secret" if value == SECRET else show_value(name, value))
            for name, value in sorted(outputs.items())])
        lines.append("")
        if problems:
            lines += [f"- **{p}**" for p in problems] + [""]

    notes = [d for d in preview.get("diagnostics") or ()
             if d.get("severity") in ("warning", "error")]
    if notes:
        lines += ["### Diagnostics", ""]
        for note in notes:
            severity = str(note.get("severity"))
            message = str(note.get("message", "")).strip().removeprefix(f"{severity}: ")
            lines.append(f"- {severity}: {redact_text(message)}")
        lines.append("")

    text = "\n".join(lines).rstrip("\n") + "\n"
    if len(text) > MAX_MARKDOWN:
        text = text[:MAX_MARKDOWN] + "\n\n… (cut: the full preview is in the CI log)\n"
    return text, verdict


# ---------------------------------------------------------------------------------------------
# Commands


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)


def _load_events(path: Path | None) -> EventLog:
    if path is None or not path.exists():
        return EventLog()
    return read_event_log(path.read_text().splitlines())


def run_preview(stack: str, policy_packs: Sequence[str], cwd: Path,
                env: Mapping[str, str] | None = None) -> tuple[dict[str, Any], EventLog,
                                                              str | None]:
    """Run `pulumi preview --json` with an event log; (preview, violations, failure text)."""
    with tempfile.TemporaryDirectory(prefix="paasmas-preview-") as tmp:
        events = Path(tmp) / "events.jsonl"
        command = ["pulumi", "preview", "--json", "--non-interactive", "--stack", stack,
                   "--event-log", str(events)]
        for pack in policy_packs:
            command += ["--policy-pack", pack]
        # --event-log exists only with PULUMI_DEBUG_COMMANDS (as the Automation API sets it).
        child_env = {**(os.environ if env is None else env), "PULUMI_DEBUG_COMMANDS": "true"}
        result = subprocess.run(command, cwd=cwd, env=child_env, capture_output=True, text=True,
                                check=False)
        log = _load_events(events)
    try:
        preview = json.loads(result.stdout) if result.stdout.strip() else {}
    except json.JSONDecodeError:
        preview = {}
    failure = None
    if result.returncode != 0:
        detail = result.stderr.strip() or ("" if preview else result.stdout.strip())
        failure = f"pulumi preview exited with {result.returncode}\n{detail[-4000:]}".strip()
    return preview, log, failure


def check_outputs(outputs: Mapping[str, Any]) -> int:
    problems = output_problems(outputs)
    for problem in problems:
        print(f"stack outputs: {problem.replace('`', '')}", file=sys.stderr)
    if not problems:
        print(f"stack outputs: {len(outputs)} checked, declared secrets "
              f"({', '.join(sorted(SECRET_OUTPUTS & set(outputs))) or 'none present'}) "
              f"are marked secret")
    return EXIT_BLOCKED if problems else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m policy.preview_summary",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run pulumi preview --json and summarise it")
    run.add_argument("--stack", required=True)
    run.add_argument("--policy-pack", action="append", default=[])
    run.add_argument("--out", type=Path)
    run.add_argument("--json-out", type=Path, help="also keep the preview JSON here")
    run.add_argument("--cwd", type=Path, default=Path.cwd())
    rend = sub.add_parser("render", help="summarise a saved `pulumi preview --json`")
    rend.add_argument("preview", type=Path)
    rend.add_argument("--events", type=Path, help="the preview's --event-log file")
    rend.add_argument("--stack", default="")
    rend.add_argument("--out", type=Path)
    outs = sub.add_parser("check-outputs", help="check `pulumi stack output --json`")
    outs.add_argument("outputs", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    if args.command == "check-outputs":
        return check_outputs(json.loads(args.outputs.read_text()))
    if args.command == "run":
        preview, log, failure = run_preview(args.stack, args.policy_pack, args.cwd)
        if args.json_out:
            _write(json.dumps(preview, indent=2) + "\n", args.json_out)
        stack = args.stack
    else:
        preview = json.loads(args.preview.read_text())
        log, failure = _load_events(args.events), None
        stack = args.stack or args.preview.stem
    text, verdict = render(preview, stack=stack, events=log, failure=failure)
    _write(text, args.out)
    if args.out:
        state = ("blocked" if verdict.blocked else
                 "destructive" if verdict.destructive else "no destructive change")
        print(f"preview summary: {args.out} ({state}, exit {verdict.exit_code})",
              file=sys.stderr)
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
