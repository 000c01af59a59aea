"""Failures that name the service and show the end of its log."""

from pathlib import Path


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


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
