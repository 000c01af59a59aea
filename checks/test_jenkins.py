"""Jenkins: the controller answers `/login` as Jenkins, and its configuration came from
configuration-as-code (the JCasC system message, read with the admin's credentials on the
node)."""

from __future__ import annotations

import json
import shlex
import urllib.error
import urllib.request

import pytest
import testinfra.host

from checks.inventory import Inventory, Node
from checks.remote import run
from components import outputs
from components.roles import Role, port

ROLE = Role.JENKINS.value
JENKINS_HTTP = port(Role.JENKINS, "http")
pytestmark = pytest.mark.jenkins
ADMIN_PASSWORD_FILE = "/etc/paasmas/jenkins/secrets/admin-password"
JCASC_MARK = "configured as code"


def test_login_page_is_jenkins(platform: Inventory) -> None:
    url = str(platform.get(outputs.JENKINS_URL)).rstrip("/") + "/login"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status, version = response.status, response.headers.get("X-Jenkins")
    except urllib.error.HTTPError as error:
        status, version = error.code, error.headers.get("X-Jenkins")
    except OSError as error:
        pytest.fail(f"Jenkins {url}: expected HTTP 200 with X-Jenkins, found no answer ({error})")
    assert status == 200 and version, (f"Jenkins {url}: expected 200 with an X-Jenkins header, "
                                       f"found {status}, X-Jenkins={version!r}")


def test_configuration_as_code_applied(node: Node, host: testinfra.host.Host) -> None:
    # The password reaches curl through its config on stdin (-K -), never its argv.
    script = (f'printf \'user = "admin:%s"\\n\' "$(cat {ADMIN_PASSWORD_FILE})" | '
              "curl -sS --fail --max-time 10 -K - "
              f"'http://127.0.0.1:{JENKINS_HTTP}/api/json?tree=description'")
    answer = run(host, node, f"sudo -n sh -c {shlex.quote(script)}")
    description = json.loads(answer).get("description") or ""
    assert JCASC_MARK in description, (
        f"{node}: Jenkins system message expected to contain {JCASC_MARK!r} (set by JCasC), "
        f"found {description!r}")
