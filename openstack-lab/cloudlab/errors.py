"""Failures that name the service and show the end of its log."""

from pathlib import Path

# Each start appends a line beginning with this to the service's log (procs.spawn).
RUN_MARKER = "===== "


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log, from its latest run only."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    starts = [i for i, line in enumerate(text) if line.startswith(RUN_MARKER)]
    latest = text[starts[-1] :] if starts else text
    return "\n".join(latest[-lines:])


class LabError(Exception):
    """The lab could not be brought up; the message says which service and why."""

    def __init__(self, service: str, problem: str, log: Path | None = None) -> None:
        self.service = service
        self.problem = problem
        self.log = log
        message = f"{service}: {problem}"
        if log is not None:
            message += f"\n--- last lines of {log} ---\n{tail(log)}\n--- end of {log.name} ---"
        super().__init__(message)
