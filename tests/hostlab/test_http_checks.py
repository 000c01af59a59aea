"""The HTTP checks of Jenkins and the Drycc controller, run by the operator's command against a
tiny local responder. This proves the checks' own logic and messages only: no Jenkins and no
Drycc run here (docs/hostchecks.md "What the lab does not prove")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

pytestmark = pytest.mark.hostlab

REPO = Path(__file__).resolve().parents[2]


class Responder(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, tuple[int, dict[str, str]]]] = {}

    def do_GET(self) -> None:
        status, headers = self.answers.get(self.path, (404, {}))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(b"stand-in")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def responder() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Responder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def run_check(tmp_path: Path, outputs: dict[str, object], test: str) -> tuple[int, str]:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"node_ips": {}, "ssh_user": "core", **outputs}))
    environment = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    environment["COLUMNS"] = "1000"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "checks", "--outputs", str(path), "-p", "no:xdist",
         "-q", "-rf", "--tb=line", "-k", test], cwd=REPO, capture_output=True, text=True,
        timeout=120, check=False, env=environment)
    return done.returncode, done.stdout + done.stderr


def test_jenkins_login_with_its_header_passes(responder: str, tmp_path: Path) -> None:
    Responder.answers = {"/login": (200, {"X-Jenkins": "2.479.3"})}
    code, output = run_check(tmp_path, {"jenkins_url": responder}, "test_login_page_is_jenkins")
    assert code == 0 and "1 passed" in output, output


def test_a_web_server_that_is_not_jenkins_fails(responder: str, tmp_path: Path) -> None:
    Responder.answers = {"/login": (200, {})}
    code, output = run_check(tmp_path, {"jenkins_url": responder}, "test_login_page_is_jenkins")
    assert code == 1
    assert (f"Jenkins {responder}/login: expected 200 with an X-Jenkins header, found 200, "
            "X-Jenkins=None") in output


def test_nothing_listening_fails_with_no_answer(tmp_path: Path) -> None:
    code, output = run_check(tmp_path, {"jenkins_url": "http://127.0.0.1:9"},
                             "test_login_page_is_jenkins")
    assert code == 1 and "expected HTTP 200 with X-Jenkins, found no answer" in output, output


@pytest.mark.parametrize(("status", "passes"), [(200, True), (503, False)])
def test_controller_healthz(responder: str, tmp_path: Path, status: int, passes: bool) -> None:
    Responder.answers = {"/healthz": (status, {})}
    code, output = run_check(tmp_path, {"paas_controller_url": responder,
                                        "paas_domain": "127.0.0.1"},
                             "test_paas_controller_answers_on_the_platform_domain")
    if passes:
        assert code == 0 and "1 passed" in output, output
    else:
        assert code == 1
        assert f"Drycc controller {responder}/healthz: expected HTTP 200, found 503" in output
