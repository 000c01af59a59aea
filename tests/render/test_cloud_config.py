"""Every role's user data, for the lab and example stacks, checked by the parsers that will read
it: Container Linux's validator, systemd, sh/shellcheck, HAProxy, YAML, Groovy."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

from components.roles import Role
from components.userdata import (
    TEMPLATE_DIR,
    USER_DATA_LIMIT_BASE64,
    PaasContext,
    cloud_controller_load_balancer_prefix,
    load_pins,
    render_cloud_config,
)
from tests.render.harness import (
    ALL_NODES,
    GOLDEN,
    RenderedNode,
    cloud_config_validator,
    dashed_keys,
    fake_root,
    node_id,
    shell_scripts,
    systemd_verify,
)

pytestmark = pytest.mark.render

UPDATE_GOLDEN = os.environ.get("PAASMAS_UPDATE_GOLDEN") == "1"


def test_every_role_is_rendered_for_both_stacks() -> None:
    for stack in ("lab", "example"):
        roles = {n.context.node.role for n in ALL_NODES if n.stack == stack}
        assert roles == set(Role), f"{stack}: missing roles {set(Role) - roles}"


@pytest.mark.parametrize("node", ALL_NODES, ids=node_id)
def test_golden(node: RenderedNode, monkeypatch: pytest.MonkeyPatch) -> None:
    # Golden files pin our templates. What the pipeline renders (its seed, deploy script and
    # settings) is the pipeline's to pin: stand-ins here, the real text in every other test.
    import pipeline.jobs

    monkeypatch.setattr(pipeline.jobs, "deploy_script_text",
                        lambda: "#!/bin/sh\n# stand-in for pipeline/bin/paasmas-deploy\n")
    monkeypatch.setattr(pipeline.jobs, "render_job_dsl", lambda ctx: "// stand-in Job DSL\n")
    monkeypatch.setattr(pipeline.jobs, "render_pipeline_env",
                        lambda ctx, endpoints: "# stand-in pipeline.env\n")
    text = render_cloud_config(node.context)
    golden = GOLDEN / node.stack / f"{node.name}.yaml"
    if UPDATE_GOLDEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.is_file(), f"no golden file {golden}: run with PAASMAS_UPDATE_GOLDEN=1"
    assert text == golden.read_text(), (
        f"{node.name} differs from {golden}; if intended: make render-golden")


@pytest.mark.parametrize("node", ALL_NODES, ids=node_id)
def test_container_linux_validator_accepts(node: RenderedNode, tmp_path: Path) -> None:
    validator = cloud_config_validator()
    if validator is None:
        pytest.skip(reason="cloud-config validator not built: run `make setup`")
    user_data = tmp_path / "user-data"
    user_data.write_text(node.text)
    run = subprocess.run([validator, str(user_data)], capture_output=True, text=True, timeout=60,
                         check=False)
    # Warnings count too: an unknown key is a setting that silently does nothing at boot.
    findings = [line for line in run.stdout.splitlines() if line.strip()]
    assert run.returncode == 0 and not findings, "\n".join(findings) + run.stderr


def test_validator_rejects_what_flatcar_rejects(tmp_path: Path) -> None:
    validator = cloud_config_validator()
    if validator is None:
        pytest.skip(reason="cloud-config validator not built: run `make setup`")
    bad = tmp_path / "user-data"
    bad.write_text("#cloud-config\nwrite_files:\n  - path: /usr/bin/x\n    content: x\n"
                   "coreos:\n  units:\n    - name: a.service\n      comand: start\n")
    run = subprocess.run([validator, str(bad)], capture_output=True, text=True, check=False)
    assert "read-only" in run.stdout and "comand" in run.stdout, run.stdout


@pytest.mark.parametrize("node", ALL_NODES, ids=node_id)
def test_yaml_parses_and_has_no_dashed_keys(node: RenderedNode) -> None:
    assert node.text.startswith("#cloud-config\n")
    doc = node.doc
    assert isinstance(doc, dict) and doc["hostname"] == node.name
    assert dashed_keys(doc) == []
    for path, entry in node.files().items():
        assert not path.startswith("/usr/"), f"{path}: /usr is read-only on Flatcar"
        assert isinstance(entry["content"], str), path
        if path.endswith((".yaml", ".yml")):
            yaml.safe_load(entry["content"])


def test_dashed_key_check_catches_what_flatcar_ignores() -> None:
    doc = yaml.safe_load("#cloud-config\ncoreos:\n  update:\n    reboot-strategy: 'off'\n"
                         "  units:\n    - name: a.service\n      drop-ins:\n        - name: x\n"
                         "users:\n  - name: u\n    ssh-authorized-keys: []\n")
    assert dashed_keys(doc) == ["coreos.update.reboot-strategy", "coreos.units[0].drop-ins",
                                "users[0].ssh-authorized-keys"]


@pytest.mark.parametrize("node", ALL_NODES, ids=node_id)
def test_units_pass_systemd_analyze_verify(node: RenderedNode, tmp_path: Path) -> None:
    units = fake_root(node, tmp_path)
    assert units or node.context.node.role is Role.BASTION, "every role but the bastion has units"
    for unit in units:
        run = systemd_verify(tmp_path, unit)
        output = (run.stdout + run.stderr).strip()
        assert run.returncode == 0 and not output, f"{unit}:\n{output}"


def test_systemd_verify_catches_a_unit_typo(tmp_path: Path) -> None:
    node = next(n for n in ALL_NODES if n.context.node.role is Role.DATABASE)
    fake_root(node, tmp_path)
    unit = tmp_path / "etc/systemd/system/paasmas-db-discovery.service"
    unit.write_text(unit.read_text().replace("ExecStart=", "ExecStrat="))
    run = systemd_verify(tmp_path, "paasmas-db-discovery.service")
    assert run.returncode != 0 and "ExecStrat" in run.stderr


@pytest.mark.parametrize("node", ALL_NODES, ids=node_id)
def test_scripts_pass_sh_n_and_shellcheck(node: RenderedNode, tmp_path: Path) -> None:
    scripts = shell_scripts(node)
    for path, text in scripts.items():
        target = tmp_path / Path(path).name
        target.write_text(text)
    for path, text in scripts.items():
        name = Path(path).name
        shell = "bash" if text.startswith(("#!/bin/bash", "#!/usr/bin/env bash")) else "sh"
        syntax = subprocess.run([shell, "-n", name], cwd=tmp_path, capture_output=True,
                                text=True, check=False)
        assert syntax.returncode == 0, f"{path}: {syntax.stderr}"
        lint = subprocess.run(["shellcheck", "-x", name], cwd=tmp_path, capture_output=True,
                              text=True, check=False)
        assert lint.returncode == 0, f"{path}:\n{lint.stdout}{lint.stderr}"


def test_every_script_in_the_repository_passes_shellcheck() -> None:
    scripts = sorted((TEMPLATE_DIR / "scripts").iterdir())
    assert len(scripts) >= 9
    for script in scripts:
        assert subprocess.run(["sh", "-n", script.name], cwd=script.parent,
                              check=False).returncode == 0, script
    lint = subprocess.run(["shellcheck", "-x", *[s.name for s in scripts]],
                          cwd=TEMPLATE_DIR / "scripts", capture_output=True, text=True,
                          check=False)
    assert lint.returncode == 0, lint.stdout


@pytest.mark.parametrize("node", [n for n in ALL_NODES if n.context.node.role is Role.DB_LB],
                         ids=node_id)
def test_haproxy_accepts_the_agents_configuration(node: RenderedNode, tmp_path: Path) -> None:
    files = node.files()
    template = tmp_path / "haproxy.cfg.in"
    template.write_text(files["/etc/paasmas/haproxy/haproxy.cfg.in"]["content"])
    agent = TEMPLATE_DIR / "scripts" / "paasmas-haproxy-agent"
    peers = node.context.database_peers  # type: ignore[union-attr]
    for members in (peers, peers[:1], ()):
        run = subprocess.run([str(agent), "render", *members], capture_output=True, text=True,
                             env={**os.environ, "HAPROXY_TEMPLATE": str(template)}, check=True)
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(run.stdout)
        assert run.stdout.count("    server db-") == len(members)
        assert run.stdout.count(" backup\n") == max(len(members) - 1, 0)
        check = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True,
                               text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("node", ALL_NODES, ids=node_id)
def test_user_data_fits_openstack_limit(node: RenderedNode) -> None:
    print(f"{node.stack:8} {node.name:28} {len(node.text.encode()):6d} bytes, "
          f"{node.base64_size:6d} base64 (limit {USER_DATA_LIMIT_BASE64})")
    assert node.base64_size <= USER_DATA_LIMIT_BASE64


def test_template_variable_typo_fails(tmp_path: Path) -> None:
    copy = tmp_path / "cloud-config"
    shutil.copytree(TEMPLATE_DIR, copy)
    partial = copy / "partials" / "common-files.yaml.j2"
    partial.write_text(partial.read_text().replace("node.ssh_user", "node.ssh_usr"))
    node = ALL_NODES[0]
    with pytest.raises(jinja2.UndefinedError, match="ssh_usr"):
        render_cloud_config(node.context, template_dir=copy)


def test_unit_template_variable_typo_fails(tmp_path: Path) -> None:
    copy = tmp_path / "cloud-config"
    shutil.copytree(TEMPLATE_DIR, copy)
    unit = copy / "units" / "paasmas-pxc.service.j2"
    unit.write_text(unit.read_text().replace("DATA_MOUNT", "DATA_MOUNTT"))
    node = next(n for n in ALL_NODES if n.context.node.role is Role.DATABASE)
    with pytest.raises(jinja2.UndefinedError, match="DATA_MOUNTT"):
        render_cloud_config(node.context, template_dir=copy)


def test_every_image_and_file_is_pinned() -> None:
    pins = load_pins()
    for name, image in pins["images"].items():
        assert image["tag"] and image["tag"] != "latest", name
    unverified = sorted(name for name, f in pins["files"].items() if f["sha256"] == "unverified")
    for name, f in pins["files"].items():
        digest = f["sha256"]
        assert (len(digest) == 64 or digest.startswith("sidecar:https://")
                or digest == "unverified"), name
    # Adding an unverified download is a decision: this list changes with it (docs/cloud-config.md).
    assert unverified == ["drycc", "gateway-api-crds"]
    images_without_digest = sorted(n for n, i in pins["images"].items() if not i["digest"])
    assert images_without_digest == ["etcd"]
    for name, version in pins["jenkins_plugins"].items():
        assert version and version != "latest", name


def test_every_pinned_image_is_used_through_the_mirror() -> None:
    mirrored = [n for n in ALL_NODES if n.context.node.downloads.registry_mirror]
    assert mirrored, "the example stack sets a registry mirror"
    mirror = mirrored[0].context.node.downloads.registry_mirror
    text = "\n".join(n.text for n in mirrored)
    for image in load_pins()["images"].values():
        assert f"{mirror}/{image['repository']}:{image['tag']}" in text, image["repository"]


@pytest.mark.parametrize("node", [n for n in ALL_NODES if n.context.node.role is Role.JENKINS],
                         ids=node_id)
def test_jcasc_parses_and_its_job_dsl_compiles(node: RenderedNode, tmp_path: Path) -> None:
    casc = yaml.safe_load(node.files()["/etc/paasmas/jenkins/casc/jenkins.yaml"]["content"])
    assert casc["jenkins"]["securityRealm"]["local"]["users"][0]["id"] == "admin"
    ids = {next(iter(c.values()))["id"]
           for c in casc["credentials"]["system"]["domainCredentials"][0]["credentials"]}
    assert {"paasmas-paas-token", "paasmas-database-admin", "paasmas-builder-ssh"} <= ids
    script = casc["jobs"][0]["script"]
    assert "${" not in script, "JCasC would interpolate it"
    # The Groovy compiler the pipeline tests set up (tests/pipeline, `make pipeline-prereqs`).
    from tests.pipeline.pipeline_harness import GROOVY_VERSION, GroovyChecker, groovy_jar

    java = shutil.which("java")
    if java is None or not groovy_jar().is_file():
        pytest.skip(reason=f"Groovy {GROOVY_VERSION} jar or java absent: run `make test-prereqs`")
    seed = tmp_path / "seed.groovy"
    seed.write_text(script)
    verdict = GroovyChecker(groovy_jar(), java).check([seed])[seed]
    assert verdict.ok, verdict.message


@pytest.mark.parametrize("node", [n for n in ALL_NODES if n.context.node.role is Role.BASTION],
                         ids=node_id)
def test_sshd_accepts_the_hardening_and_applies_it(node: RenderedNode, tmp_path: Path) -> None:
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.access(sshd, os.X_OK):
        pytest.skip(reason="sshd absent: `make test-prereqs` installs openssh-server")
    drop_ins = tmp_path / "sshd_config.d"
    drop_ins.mkdir()
    for path, entry in node.files().items():
        if path.startswith("/etc/ssh/sshd_config.d/"):
            (drop_ins / Path(path).name).write_text(entry["content"])
    # Flatcar's own drop-in comes after ours (flatcar/scripts misc-files 50-flatcar-sshd.conf).
    (drop_ins / "50-flatcar-sshd.conf").write_text(
        "Subsystem sftp internal-sftp\nClientAliveInterval 180\nUseDNS no\nUsePAM yes\n"
        "PasswordAuthentication yes\n")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    str(tmp_path / "host_key")], check=True)
    config = tmp_path / "sshd_config"
    config.write_text(f"Include {drop_ins}/*.conf\nHostKey {tmp_path / 'host_key'}\n")
    run = subprocess.run([sshd, "-T", "-f", str(config), "-C", "user=core,host=x,addr=192.0.2.1"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    effective = dict(line.split(" ", 1) for line in run.stdout.splitlines() if " " in line)
    assert effective["passwordauthentication"] == "no"  # ours wins over a later drop-in
    assert effective["permitrootlogin"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["authenticationmethods"] == "publickey"
    assert effective["allowusers"] == node.context.node.ssh_user
    assert effective["allowagentforwarding"] == "no"


def test_cloud_controller_is_configured_for_cleanup_by_prefix() -> None:
    first = [n for n in ALL_NODES if isinstance(n.context, PaasContext) and n.context.is_first]
    assert first
    for node in first:
        assert isinstance(node.context, PaasContext) and node.context.cloud_provider
        cluster = node.context.cloud_provider.cluster_name
        values = yaml.safe_load(node.files()["/etc/paasmas/drycc/ccm-values.yaml"]["content"])
        assert values["cluster"]["name"] == cluster
        assert cloud_controller_load_balancer_prefix(cluster) == f"kube_service_{cluster}_"
        config = yaml.safe_load(node.files()["/etc/rancher/k3s/config.yaml"]["content"])
        assert config["disable-cloud-controller"] is True
        assert "cloud-provider=external" in config["kubelet-arg"]
