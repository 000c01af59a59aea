"""The one-shot installers run for real against stand-ins: a loopback HTTP server for downloads,
recording `kubectl`/`helm`/`docker` commands for the Drycc installer and the Jenkins image."""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.roles import Role, port
from components.userdata import (
    TEMPLATE_DIR,
)

PAAS_HTTP_NODE_PORT = port(Role.PAAS, "http")
PAAS_HTTPS_NODE_PORT = port(Role.PAAS, "https")
PAAS_BUILDER_NODE_PORT = port(Role.PAAS, "builder")

pytestmark = pytest.mark.render

SCRIPTS = TEMPLATE_DIR / "scripts"


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server over a directory: (base URL, directory)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def fetch(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run([str(SCRIPTS / "paasmas-fetch"), *args], capture_output=True, text=True,
                          env=env, timeout=60, check=False)


def test_fetch_verifies_and_keeps_a_good_file(web: tuple[str, Path], tmp_path: Path) -> None:
    url, root = web
    (root / "tool").write_bytes(b"binary v1\n")
    digest = hashlib.sha256(b"binary v1\n").hexdigest()
    dest = tmp_path / "opt" / "tool"
    assert fetch(f"{url}/tool", digest, str(dest), "0755").returncode == 0
    assert dest.read_bytes() == b"binary v1\n" and dest.stat().st_mode & 0o777 == 0o755
    # Upstream changes behind the pin: the kept file is not replaced, nothing is downloaded.
    (root / "tool").write_bytes(b"tampered\n")
    assert fetch(f"{url}/tool", digest, str(dest)).returncode == 0
    assert dest.read_bytes() == b"binary v1\n"


def test_fetch_refuses_a_mismatch(web: tuple[str, Path], tmp_path: Path) -> None:
    url, root = web
    (root / "tool").write_bytes(b"tampered\n")
    dest = tmp_path / "tool"
    run = fetch(f"{url}/tool", hashlib.sha256(b"expected\n").hexdigest(), str(dest))
    assert run.returncode != 0 and "does not match" in run.stderr
    assert not dest.exists() and not (tmp_path / "tool.part").exists()


def test_fetch_takes_the_digest_from_a_sidecar(web: tuple[str, Path], tmp_path: Path) -> None:
    url, root = web
    (root / "helm.tgz").write_bytes(b"archive\n")
    (root / "helm.tgz.sha256sum").write_text(
        f"{hashlib.sha256(b'archive').hexdigest()}  helm.tgz\n")  # wrong on purpose first
    assert fetch(f"{url}/helm.tgz", f"sidecar:{url}/helm.tgz.sha256sum",
                 str(tmp_path / "h")).returncode != 0
    (root / "helm.tgz.sha256sum").write_text(
        f"{hashlib.sha256(b'archive' + bytes([10])).hexdigest()}  helm.tgz\n")
    assert fetch(f"{url}/helm.tgz", f"sidecar:{url}/helm.tgz.sha256sum",
                 str(tmp_path / "h")).returncode == 0


def recorder(bin_dir: Path, name: str, log: Path, body: str = "") -> None:
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\n{body}')
    script.chmod(0o755)


def test_drycc_installer_order_node_ports_and_marker(tmp_path: Path) -> None:
    bin_dir, log, marker = tmp_path / "bin", tmp_path / "calls", tmp_path / "state" / "installed"
    bin_dir.mkdir()
    # The gateway Service lists 2222, 80, 443: patches must address each port by its index.
    recorder(bin_dir, "kubectl", log, body=(
        'case "$*" in *jsonpath*) printf "15021\\n2222\\n80\\n443\\n" ;; esac\n'))
    recorder(bin_dir, "helm", log)
    (tmp_path / "cloud.conf").write_text("[Global]\n")
    env = {**os.environ, "KUBECTL": str(bin_dir / "kubectl"), "HELM": str(bin_dir / "helm"),
           "MARKER": str(marker), "GATEWAY_API_CRDS": "/crds.yaml", "DRYCC_VALUES": "/v.yaml",
           "ISTIO_REPO": "https://istio.example", "ISTIO_VERSION": "1.27.1",
           "DRYCC_CHART": "oci://registry.drycc.cc/drycc/charts/workflow", "DRYCC_VERSION": "1.2.3",
           "CCM_REPO": "https://ccm.example", "CCM_CHART": "openstack-cloud-controller-manager",
           "CCM_VERSION": "2.33.0", "CCM_VALUES": "/ccm.yaml",
           "CLOUD_CONF": str(tmp_path / "cloud.conf"),
           "HTTP_NODE_PORT": str(PAAS_HTTP_NODE_PORT), "HTTPS_NODE_PORT": str(PAAS_HTTPS_NODE_PORT),
           "BUILDER_NODE_PORT": str(PAAS_BUILDER_NODE_PORT)}
    run = subprocess.run([str(SCRIPTS / "paasmas-drycc-install")], capture_output=True, text=True,
                         env=env, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    calls = log.read_text().splitlines()
    order = [c.split()[0] + ":" + next((w for w in ("readyz", "crds", "cloud-config",
                                                      "openstack-ccm", "istio-base", "istiod",
                                                      "annotate", "drycc") if w in c), "")
             for c in calls]
    firsts = [o for o in order if not o.endswith(":")]
    steps = ["kubectl:readyz", "kubectl:crds", "helm:openstack-ccm", "helm:istio-base",
             "helm:istiod", "helm:drycc", "kubectl:annotate"]
    assert [firsts.index(step) for step in steps] == sorted(firsts.index(s) for s in steps)
    assert any("--version 1.2.3" in c and "charts/workflow" in c for c in calls)
    patch = next(c for c in calls if " patch service drycc-gateway-istio" in c)
    assert (f'{{"op":"replace","path":"/spec/ports/1/nodePort","value":{PAAS_BUILDER_NODE_PORT}}},'
            f'{{"op":"replace","path":"/spec/ports/2/nodePort","value":{PAAS_HTTP_NODE_PORT}}},'
            f'{{"op":"replace","path":"/spec/ports/3/nodePort","value":{PAAS_HTTPS_NODE_PORT}}}'
            ) in patch
    assert marker.is_file()
    # Later boots: nothing at all.
    log.write_text("")
    again = subprocess.run([str(SCRIPTS / "paasmas-drycc-install")], capture_output=True,
                           text=True, env=env, timeout=60, check=False)
    assert again.returncode == 0 and log.read_text() == ""


def test_jenkins_image_is_built_once_per_plugin_list(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip(reason="the script chowns JENKINS_HOME to uid 1000: needs root")
    bin_dir, log = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    images = tmp_path / "images"
    images.write_text("")
    # A docker stand-in that remembers built tags.
    recorder(bin_dir, "docker", log, body=(
        f'case "$1" in image) grep -qx "$3" {images} ;;\n'
        f'build) while [ $# -gt 0 ]; do [ "$1" = -t ] && echo "$2" >> {images}; shift; done ;;\n'
        'esac\n'))
    image_dir, home = tmp_path / "image", tmp_path / "home"
    image_dir.mkdir()
    (image_dir / "Dockerfile").write_text("FROM jenkins\n")
    (image_dir / "plugins.txt").write_text("job-dsl:1\n")
    env = {**os.environ, "JENKINS_IMAGE_DIR": str(image_dir), "JENKINS_HOME_DIR": str(home),
           "DOCKER": str(bin_dir / "docker")}

    def run() -> str:
        subprocess.run([str(SCRIPTS / "paasmas-jenkins-image"), str(tmp_path / "out.env")],
                       env=env, check=True, capture_output=True, timeout=60)
        return (tmp_path / "out.env").read_text()

    first = run()
    assert first.startswith("JENKINS_IMAGE=paasmas/jenkins:")
    assert run() == first
    assert log.read_text().count("docker build") == 1
    assert (home / "paasmas" / "git-token").stat().st_uid == 1000
    (image_dir / "plugins.txt").write_text("job-dsl:2\n")
    assert run() != first
    assert log.read_text().count("docker build") == 2
