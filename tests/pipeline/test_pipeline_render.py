"""What the rendered jobs, Jenkinsfile and settings file say, and the render CLI's checks.

The settings' rules live in components/config.py (tests/unit/test_config.py); here the context
is built the way the stack builds it, from a loaded PipelineConfig.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pipeline_harness import DEPLOY_SCRIPT

from components.config import ConfigError, GitHubRepository, load_pipeline
from pipeline import jenkins_files
from pipeline.jobs import (
    BUILDER_SSH_CREDENTIALS_ID,
    DATABASE_ADMIN_CREDENTIALS_ID,
    DEPLOY_SCRIPT_PATH,
    PAAS_TOKEN_CREDENTIALS_ID,
    PipelineContext,
    PlatformEndpoints,
    app_names,
    deploy_script_text,
    groovy_string,
    render_cleanup_pipeline,
    render_jenkinsfile,
    render_job_dsl,
    render_pipeline_env,
)

pytestmark = pytest.mark.pipeline

SETTINGS = {"repository": "https://github.com/paulczar/ci-demo.git", "credentials_id": "github"}


@pytest.fixture
def ctx() -> PipelineContext:
    return PipelineContext.from_config(load_pipeline(SETTINGS))


def test_defaults_follow_the_2015_flow(ctx: PipelineContext) -> None:
    assert (ctx.app_name, ctx.staging_branch, ctx.production_branch) == (
        "ghost", "development", "master")
    assert ctx.credentials_id == "github"
    assert ctx.repository == GitHubRepository(
        url="https://github.com/paulczar/ci-demo", host="github.com", owner="paulczar",
        name="ci-demo")
    assert app_names("ghost") == {"production": "ghost", "staging": "stage-ghost",
                                  "pull_request_prefix": "pr-"}


def test_context_carries_every_loaded_setting() -> None:
    cfg = load_pipeline({"repository": "https://git.example.com:8443/web-team/blog.site.git",
                         "credentials_id": "gh.bot_1-ci", "app_name": "blog-2",
                         "staging_branch": "release/2026.1_rc-1", "production_branch": "stable"})
    ctx = PipelineContext.from_config(cfg)
    assert (ctx.repository, ctx.credentials_id, ctx.app_name, ctx.staging_branch,
            ctx.production_branch) == (cfg.repository, "gh.bot_1-ci", "blog-2",
                                       "release/2026.1_rc-1", "stable")


def test_no_repository_means_nothing_to_render() -> None:
    # The stack renders no seed without a repository (components/userdata.py checks first).
    cfg = load_pipeline({"credentials_id": "github"})
    assert cfg.repository is None
    with pytest.raises(ValueError, match=r"pipeline\.repository is not set"):
        PipelineContext.from_config(cfg)


def test_render_cli_writes_the_three_files(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert jenkins_files.main([str(out), "--repository", "https://github.com/org/blog.git",
                        "--app-name", "blog"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "Jenkinsfile", "pr-cleanup.groovy", "seed.groovy"]
    ctx = PipelineContext.from_config(load_pipeline({
        "repository": "https://github.com/org/blog", "credentials_id": "github",
        "app_name": "blog"}))
    assert (out / "Jenkinsfile").read_text() == render_jenkinsfile(ctx)
    assert (out / "seed.groovy").read_text() == render_job_dsl(ctx)
    assert capsys.readouterr().err == ""


def test_render_cli_refuses_what_the_stack_would_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = jenkins_files.main([str(out), "--repository", "git@github.com:org/blog.git",
                        "--app-name", "a" * 25, "--staging-branch", "PR-7"])
    assert code == 2
    assert not out.exists()
    problems = capsys.readouterr().err.splitlines()
    assert [p.split(":")[0] for p in problems] == [
        "pipeline.repository", "pipeline.app_name", "pipeline.staging_branch"]
    # The same rules and words as the stack-config loader.
    assert problems[0].startswith("pipeline.repository: 'git@github.com:org/blog.git' is not an "
                                  "https URL")
    assert "https://github.com/org/blog.git" in problems[0]


def _deploy_script_accepts_app_name(name: str) -> bool:
    match = re.search(r"^readonly APP_NAME_RE='([^']+)'$", DEPLOY_SCRIPT.read_text(),
                      flags=re.MULTILINE)
    assert match is not None, "APP_NAME_RE not found in the deploy script"
    result = subprocess.run(["bash", "-c", 're=$1; [[ $2 =~ $re ]]', "-", match.group(1), name],
                            check=False)
    return result.returncode == 0


@pytest.mark.parametrize("name", ["g", "ghost", "blog-2", "a" * 24, "a" * 25, "a" * 40,
                                  "Ghost", "2ghost", "ghost-", "gh_ost", "-g", ""])
def test_loader_and_deploy_script_agree_on_app_names(name: str) -> None:
    """The stack refuses exactly the app names the deploy script would refuse on the node."""
    try:
        load_pipeline({"app_name": name})
        loads = True
    except ConfigError:
        loads = False
    assert loads == _deploy_script_accepts_app_name(name)


def test_groovy_string_never_interpolates() -> None:
    assert groovy_string("it's ${x}\n\\") == "'it\\'s ${x}\\n\\\\'"


def test_seed_wires_multibranch_and_cleanup(ctx: PipelineContext) -> None:
    seed = render_job_dsl(ctx)
    assert "multibranchPipelineJob('ghost')" in seed
    assert "pipelineJob('ghost-pr-cleanup')" in seed
    assert "deleteActionJobsToTrigger('ghost-pr-cleanup')" in seed
    assert "branchIncludeFilter('PR-*')" in seed
    assert "includes('development master PR-*')" in seed
    assert "repositoryUrl('https://github.com/paulczar/ci-demo')" in seed
    assert "credentialsId('github')" in seed
    assert "gitHubForkDiscovery" not in seed
    # Safe to embed in JCasC YAML: nothing for its ${...} interpolation to touch.
    assert "${" not in seed
    # The cleanup job declares every parameter the trigger plugin passes.
    for name in ("SOURCE_PROJECT_NAME", "SOURCE_PROJECT_FULL_NAME", "SOURCE_BRANCH_NAME",
                 "TARGET_BRANCH_NAME"):
        assert f"stringParam('{name}'" in seed
    assert ctx.branch_source_id == PipelineContext.from_config(
        load_pipeline(SETTINGS)).branch_source_id


def test_pipelines_bind_the_documented_credentials(ctx: PipelineContext) -> None:
    jenkinsfile = render_jenkinsfile(ctx)
    cleanup = render_cleanup_pipeline(ctx)
    for text in (jenkinsfile, cleanup):
        assert f"PAASMAS_DEPLOY = '{DEPLOY_SCRIPT_PATH}'" in text
        assert f"string(credentialsId: '{PAAS_TOKEN_CREDENTIALS_ID}', variable: 'DRYCC_TOKEN')" \
            in text
        assert f"usernamePassword(credentialsId: '{DATABASE_ADMIN_CREDENTIALS_ID}'," in text
        # Shell steps are single-quoted: Groovy never interpolates a secret into a command.
        assert 'sh "' not in text
    assert f"sshUserPrivateKey(credentialsId: '{BUILDER_SSH_CREDENTIALS_ID}'," in jenkinsfile
    assert "branch 'development'" in jenkinsfile and "branch 'master'" in jenkinsfile
    assert """sh '"$PAASMAS_DEPLOY" pr-close --pr "$PAASMAS_PR"'""" in cleanup


def test_pipeline_env_carries_the_outputs(ctx: PipelineContext) -> None:
    endpoints = PlatformEndpoints.from_outputs({
        "paas_domain": "203.0.113.7.sslip.io",
        "paas_controller_url": "http://drycc.203.0.113.7.sslip.io",
        "paas_builder_remote": "ssh://git@drycc-builder.203.0.113.7.sslip.io:2222",
        "database_host": "10.20.0.50",
        "database_port": 3306,
        "jenkins_url": "http://10.20.0.40:8080",
    })
    lines = [line for line in render_pipeline_env(ctx, endpoints).splitlines()
             if not line.startswith("#")]
    assert lines == [
        "PAASMAS_APP=ghost",
        "PAASMAS_STAGING_BRANCH=development",
        "PAASMAS_PRODUCTION_BRANCH=master",
        "PAAS_DOMAIN=203.0.113.7.sslip.io",
        "PAAS_CONTROLLER_URL=http://drycc.203.0.113.7.sslip.io",
        "PAAS_BUILDER_REMOTE=ssh://git@drycc-builder.203.0.113.7.sslip.io:2222",
        "DATABASE_HOST=10.20.0.50",
        "DATABASE_PORT=3306",
    ]
    with pytest.raises(ValueError, match="DATABASE_HOST"):
        render_pipeline_env(ctx, PlatformEndpoints("d", "c", "b", "10.0.0.1\nEVIL=1", 3306))


def test_deploy_script_text_is_the_script() -> None:
    text = deploy_script_text()
    assert text == DEPLOY_SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert not re.search(r"^\s*set\s+(-x|-o\s+xtrace)", text, flags=re.MULTILINE)


def test_deploy_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip(reason="shellcheck absent: run `make pipeline-prereqs`")
    result = subprocess.run([shellcheck, "--severity=style", str(DEPLOY_SCRIPT)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
