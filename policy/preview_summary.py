"""A stack preview as Markdown for a pull-request comment; the exit code says how risky it is.

    python -m policy.preview_summary run --stack lab [--policy-pack policy] [--out FILE]
    python -m policy.preview_summary render PREVIEW.json [--events EVENTS.jsonl] [--out FILE]
    python -m policy.preview_summary check-outputs OUTPUTS.json   # `pulumi stack output --json`

`run` runs `pulumi preview --json --event-log ...` itself; `render` reads what it saved. The
Markdown lists replacements and deletions first with the property forcing each replacement,
then every change grouped by component (parent resource), stack outputs and policy violations.
Values are shown only when short and not sensitive; secrets never appear.

Exit codes: 0 no destructive change; 2 destructive (a replace or delete: ask for an extra
approval); 1 blocked (the preview failed, a mandatory policy was violated, a declared secret
output is not marked secret, or an input is not what the engine writes). Blocked wins over
destructive.

Every input fails closed: a file that is not JSON, or JSON that is not the shape the engine
writes, is one line on stderr naming the file, what is wrong and how to fix it, and exit 1; it
is never read as "no destructive change".
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
# Every step operation of the engine (sdk/go/common/display StepOps, Pulumi v3).
STEP_OPS = frozenset({"same", "create", "update", "delete", "replace", "create-replacement",
                      "delete-replaced", "read", "read-replacement", "refresh", "discard",
                      "discard-replaced", "remove-pending-replace", "import",
                      "import-replacement"})
# What a `changeSummary` count makes destructive even when no step shows it; dropping a
# resource pending replacement from the state belongs to a replacement.
DESTRUCTIVE_OPS = REPLACE_OPS | DELETE_OPS | {"remove-pending-replace"}
DIAGNOSTIC_SEVERITIES = frozenset({"debug", "info", "infoerr", "warning", "error"})
POLICY_LEVELS = frozenset({"advisory", "mandatory", "remediate", "disabled"})
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


PREVIEW_FIX = ("pass what `pulumi preview --json` prints (or let `python -m "
               "policy.preview_summary run` call it)")
EVENTS_FIX = "pass the file `pulumi preview --event-log FILE` wrote, or leave --events out"
OUTPUTS_FIX = "pass what `pulumi stack output --json` prints"
MAX_PROBLEMS = 8  # in one message; the rest are counted


def redact_text(text: str) -> str:
    """Free text (diagnostics, errors) without PEM blocks or `password=...` values."""
    text = PEM_BLOCK.sub("[redacted PEM]", text)
    return ASSIGNED_SECRET.sub(lambda m: f"{m.group(1)}[redacted]", text)


# ---------------------------------------------------------------------------------------------
# Checking the inputs


class InputError(ValueError):
    """A file or program output the summary cannot trust; its message is the one line shown."""


def json_kind(value: Any) -> str:
    """What a JSON value is, in the words a message about a JSON document uses."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def shown(value: Any) -> str:
    """A value as a message quotes it: repr (a newline stays visible), short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def input_error(source: str, problems: Sequence[str], fix: str) -> InputError:
    """One line: the source, its first problems (the rest counted), how to fix it."""
    listed = "; ".join(problems[:MAX_PROBLEMS])
    more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
    return InputError(f"{source}: {listed}{more} — {fix}")


def parse_json(text: str, source: str, fix: str) -> Any:
    """json.loads whose error names the source and the position instead of a traceback."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise input_error(source, [f"not JSON ({error.msg}: line {error.lineno} column "
                                   f"{error.colno})"], fix) from None


def read_text(path: Path, fix: str) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise input_error(str(path), [f"cannot be read ({reason or error})"], fix) from None


_ABSENT = object()  # a key the document leaves out (Go's omitempty), unlike an explicit null


def _optional(value: Any, key: str, expected: type, words: str) -> list[str]:
    """A key the engine may omit or write as null; when present, of the expected type."""
    if value is _ABSENT or value is None or isinstance(value, expected):
        return []
    return [f"{key}: expected {words}, found {json_kind(value)}"]


def change_summary_problems(summary: Any) -> list[str]:
    """`changeSummary`: operation -> count. Required: the engine writes it at the end of every
    preview (the stack itself counts), so its absence means the preview did not finish."""
    if summary is _ABSENT:
        return ["changeSummary: missing (every finished preview has one)"]
    if not isinstance(summary, dict):
        return [f"changeSummary: expected an object of operation counts, found "
                f"{json_kind(summary)}"]
    problems = []
    for op, count in summary.items():
        if op not in STEP_OPS:
            problems.append(f"changeSummary.{op}: not a Pulumi step operation")
        elif not isinstance(count, int) or isinstance(count, bool) or count < 0:
            problems.append(f"changeSummary.{op}: expected a count, found {shown(count)}")
    return problems


def state_problems(state: Any, key: str) -> list[str]:
    """`oldState`/`newState` of a step: the parts of a resource state the summary reads."""
    if state is _ABSENT or state is None:
        return []
    if not isinstance(state, dict):
        return [f"{key}: expected a resource state object or null, found {json_kind(state)}"]
    return [*_optional(state.get("inputs", _ABSENT), f"{key}.inputs", dict, "an object"),
            *_optional(state.get("outputs", _ABSENT), f"{key}.outputs", dict, "an object"),
            *_optional(state.get("parent", _ABSENT), f"{key}.parent", str, "a URN string"),
            *_optional(state.get("protect", _ABSENT), f"{key}.protect", bool, "a boolean")]


def _strings_problems(value: Any, key: str) -> list[str]:
    if value is _ABSENT or value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return [f"{key}: expected a list of property names, found {shown(value)}"]
    return []


def step_problems(step: Any, key: str) -> list[str]:
    """One step: a known operation on a resource URN, with well-typed states and diffs. An
    unknown operation is refused rather than guessed harmless."""
    if not isinstance(step, dict):
        return [f"{key}: expected a step object, found {json_kind(step)}"]
    problems = []
    op = step.get("op", _ABSENT)
    if op is _ABSENT:
        problems.append(f"{key}.op: missing")
    elif op not in STEP_OPS:
        problems.append(f"{key}.op: {shown(op)} is not a Pulumi step operation")
    urn = step.get("urn")
    if not (isinstance(urn, str) and urn.startswith("urn:pulumi:")):
        problems.append(f"{key}.urn: expected a urn:pulumi:... string, found {shown(urn)}")
    for state in ("oldState", "newState"):
        problems += state_problems(step.get(state, _ABSENT), f"{key}.{state}")
    for reasons in ("replaceReasons", "diffReasons"):
        problems += _strings_problems(step.get(reasons, _ABSENT), f"{key}.{reasons}")
    detailed = step.get("detailedDiff", _ABSENT)
    problems += _optional(detailed, f"{key}.detailedDiff", dict, "an object")
    if isinstance(detailed, dict):
        for path, diff in detailed.items():
            if not (isinstance(diff, dict) and isinstance(diff.get("kind", ""), str)):
                problems.append(f"{key}.detailedDiff[{path!r}]: expected an object with a "
                                f"string `kind`, found {shown(diff)}")
    return problems


def diagnostics_problems(diagnostics: Any) -> list[str]:
    """Diagnostics block the summary when one is an error, so each must say its severity."""
    problems = _optional(diagnostics, "diagnostics", list, "a list")
    if not isinstance(diagnostics, list):
        return problems
    for index, note in enumerate(diagnostics):
        key = f"diagnostics[{index}]"
        if not isinstance(note, dict):
            problems.append(f"{key}: expected a diagnostic object, found {json_kind(note)}")
        elif note.get("severity") not in DIAGNOSTIC_SEVERITIES:
            problems.append(f"{key}.severity: {shown(note.get('severity'))} is not a "
                            f"severity ({', '.join(sorted(DIAGNOSTIC_SEVERITIES))})")
    return problems


def preview_problems(document: Any) -> list[str]:
    """Everything that keeps a document from being `pulumi preview --json` output (the
    PreviewDigest of pkg/backend/display/json.go), all at once. `steps` may be absent: Go
    leaves an empty list out."""
    if not isinstance(document, dict):
        return [f"expected a JSON object with `changeSummary` and `steps`, found "
                f"{json_kind(document)}"]
    problems = change_summary_problems(document.get("changeSummary", _ABSENT))
    steps = document.get("steps", _ABSENT)
    if steps is not _ABSENT and not isinstance(steps, list):
        problems.append(f"steps: expected a list of steps, found {json_kind(steps)}")
    elif isinstance(steps, list):
        for index, step in enumerate(steps):
            problems += step_problems(step, f"steps[{index}]")
    problems += diagnostics_problems(document.get("diagnostics", _ABSENT))
    return problems


def event_problems(event: Any) -> list[str]:
    """One event-log line: an object; its policy event and stack outputs (what the summary
    reads from the log) of the engine's shape. A policy event with an unknown level is refused:
    it could be a mandatory violation spelt differently."""
    if not isinstance(event, dict):
        return [f"expected an engine event object, found {json_kind(event)}"]
    problems = []
    policy = event.get("policyEvent", _ABSENT)
    if isinstance(policy, dict):
        for key in ("policyName", "policyPackName", "message"):
            if not isinstance(policy.get(key), str):
                problems.append(f"policyEvent.{key}: expected a string, found "
                                f"{shown(policy.get(key))}")
        problems += _optional(policy.get("resourceUrn", _ABSENT), "policyEvent.resourceUrn",
                              str, "a URN string")
        if policy.get("enforcementLevel") not in POLICY_LEVELS:
            problems.append(f"policyEvent.enforcementLevel: {shown(policy.get('enforcementLevel'))}"
                            f" is not a level ({', '.join(sorted(POLICY_LEVELS))})")
    elif policy is not _ABSENT:
        problems.append(f"policyEvent: expected an object, found {json_kind(policy)}")
    outputs = event.get("resOutputsEvent", _ABSENT)
    if isinstance(outputs, dict):
        metadata = outputs.get("metadata")
        if not isinstance(metadata, dict):
            problems.append(f"resOutputsEvent.metadata: expected an object, found "
                            f"{json_kind(metadata)}")
        else:
            problems += _optional(metadata.get("urn", _ABSENT), "resOutputsEvent.metadata.urn",
                                  str, "a URN string")
            new = metadata.get("new", _ABSENT)
            problems += state_problems(new, "resOutputsEvent.metadata.new")
    elif outputs is not _ABSENT:
        problems.append(f"resOutputsEvent: expected an object, found {json_kind(outputs)}")
    return problems


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


def read_event_log(lines: Iterable[str], source: str = "event log") -> EventLog:
    """Engine events, one JSON object a line. A line that is not one is an InputError, never
    skipped: the line dropped could be the mandatory violation that blocks."""
    violations: list[PolicyViolation] = []
    outputs: dict[str, Any] | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        event = parse_json(line, where, EVENTS_FIX)
        problems = event_problems(event)
        if problems:
            raise input_error(where, problems, EVENTS_FIX)
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


def counted_destructive(summary: Mapping[str, int]) -> dict[str, int]:
    """The replaces and deletes the engine's `changeSummary` counts, whatever the steps list."""
    return {op: count for op, count in sorted(summary.items())
            if op in DESTRUCTIVE_OPS and count > 0}


def render(preview: Any, *, stack: str, events: EventLog = NO_EVENTS,
           failure: str | None = None) -> tuple[str, Verdict]:
    """The Markdown and the verdict. `preview` is whatever the JSON held: a document that is
    not preview output blocks (its problems listed) instead of reading as no change."""
    unreadable = preview_problems(preview)
    if unreadable:
        preview = {}
    steps = list(preview.get("steps") or ())
    policy_violations = events.violations
    changes = read_changes(steps)
    destructive = [c for c in changes if c.op in ("replace", "delete")]
    counted = counted_destructive(preview.get("changeSummary") or {})
    unlisted = counted if counted and not destructive else {}
    critical = [c for c in destructive if c.critical]
    outputs = events.outputs if events.outputs is not None else stack_outputs(steps)
    problems = output_problems(outputs) if outputs is not None else []
    mandatory = [v for v in policy_violations if v.level == "mandatory"]
    errors = [d for d in preview.get("diagnostics") or () if d.get("severity") == "error"]
    blocked = bool(failure or unreadable or mandatory or problems or errors)
    verdict = Verdict(destructive=bool(destructive or counted), blocked=blocked)

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
            "the preview JSON is not `pulumi preview --json` output"
            if unreadable and not failure else "",
            f"{len(mandatory)} mandatory policy violation(s)" if mandatory else "",
            f"{len(problems)} stack output problem(s)" if problems else ""])) + ".", ""]
    if destructive:
        counts = Counter(c.op for c in destructive)
        lines += [f"**Destructive:** {counts['replace']} replacement(s), {counts['delete']} "
                  f"deletion(s) — this change needs an extra approval.", ""]
    elif unlisted:
        lines += ["**Destructive:** the engine counts " + ", ".join(
            f"{count} {op}" for op, count in unlisted.items()) + " but no step shows which "
            "resource — this change needs an extra approval.", ""]
    elif not blocked:
        lines += ["No resource is replaced or deleted.", ""]
    if unreadable and not failure:
        lines += ["### Unreadable preview", ""]
        lines += [f"- {redact_text(p)}" for p in unreadable[:MAX_PROBLEMS]]
        if len(unreadable) > MAX_PROBLEMS:
            lines.append(f"- … and {len(unreadable) - MAX_PROBLEMS} more")
        lines += ["", f"Fix: {PREVIEW_FIX}.", ""]

    summary = preview.get("changeSummary") or dict(Counter(c.op for c in changes))
    ordered = sorted(summary, key=lambda op: (OP_ORDER.index(op) if op in OP_ORDER else 99, op))
    if summary:
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


def load_preview(path: Path) -> dict[str, Any]:
    """A saved `pulumi preview --json`, refused (InputError) unless it is one."""
    document = parse_json(read_text(path, PREVIEW_FIX), str(path), PREVIEW_FIX)
    problems = preview_problems(document)
    if problems:
        raise input_error(str(path), problems, PREVIEW_FIX)
    loaded: dict[str, Any] = document
    return loaded


def load_events(path: Path) -> EventLog:
    """An event log named on the command line: it must exist and be one (InputError)."""
    return read_event_log(read_text(path, EVENTS_FIX).splitlines(), str(path))


def load_outputs(path: Path) -> dict[str, Any]:
    """`pulumi stack output --json`: an object of output names (InputError otherwise)."""
    document = parse_json(read_text(path, OUTPUTS_FIX), str(path), OUTPUTS_FIX)
    if not isinstance(document, dict):
        raise input_error(str(path), [f"expected a JSON object of output names, found "
                                      f"{json_kind(document)}"], OUTPUTS_FIX)
    loaded: dict[str, Any] = document
    return loaded


def run_preview(stack: str, policy_packs: Sequence[str], cwd: Path,
                env: Mapping[str, str] | None = None) -> tuple[Any, EventLog, str | None]:
    """Run `pulumi preview --json` with an event log; (preview, violations, failure text).
    What pulumi printed or logged that cannot be read is part of the failure (the summary is
    still written, blocked, for the pull request); a preview of the wrong shape blocks in
    `render`."""
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
        unreadable: list[str] = []
        log = NO_EVENTS
        if events.exists():
            try:
                log = read_event_log(read_text(events, EVENTS_FIX).splitlines(),
                                     "pulumi's event log")
            except InputError as error:
                unreadable.append(str(error))
        elif result.returncode == 0:
            unreadable.append("pulumi's event log: not written, so policy violations and stack "
                              "outputs are unknown — use a pulumi CLI that has --event-log "
                              "(PULUMI_DEBUG_COMMANDS=true)")
    preview: Any = {}
    if result.stdout.strip():
        try:
            preview = parse_json(result.stdout, "pulumi preview --json output", PREVIEW_FIX)
        except InputError as error:
            if result.returncode == 0:  # a failed preview says why on stderr
                unreadable.append(str(error))
    failure = None
    if result.returncode != 0:
        detail = result.stderr.strip() or ("" if preview else result.stdout.strip())
        failure = f"pulumi preview exited with {result.returncode}\n{detail[-4000:]}".strip()
    if unreadable:
        for problem in unreadable:
            print(f"preview summary: {problem}", file=sys.stderr)
        failure = "\n".join(filter(None, [failure, *unreadable]))
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
    """The command's exit code; an input it cannot trust is one line on stderr and exit 1
    (blocked), with nothing written."""
    args = build_parser().parse_args(argv)
    try:
        return command(args)
    except InputError as error:
        print(f"preview summary: {error}", file=sys.stderr)
        return EXIT_BLOCKED


def command(args: argparse.Namespace) -> int:
    preview: Any
    if args.command == "check-outputs":
        return check_outputs(load_outputs(args.outputs))
    if args.command == "run":
        preview, log, failure = run_preview(args.stack, args.policy_pack, args.cwd)
        if args.json_out:
            _write(json.dumps(preview, indent=2) + "\n", args.json_out)
        if (problems := preview_problems(preview)) and not failure:
            error = input_error("pulumi preview --json output", problems, PREVIEW_FIX)
            print(f"preview summary: {error}", file=sys.stderr)
        stack = args.stack
    else:
        preview = load_preview(args.preview)
        log = NO_EVENTS if args.events is None else load_events(args.events)
        failure = None
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
