"""Render the Jenkins side of the deploy pipeline from the stack's settings and outputs.

Pure functions, no Pulumi: the cloud-config embeds `render_job_dsl(ctx)` in its JCasC `jobs:`
entry and writes `render_pipeline_env(...)` and `deploy_script_text()` onto the Jenkins node;
app teams commit `render_jenkinsfile(ctx)` to their repository. docs/pipeline.md is the contract.
The settings are checked once, by the stack-config loader (components/config.py), before the
program declares anything; nothing here second-guesses them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from components.config import GitHubRepository, PipelineConfig

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = PACKAGE_DIR / "templates"
DEPLOY_SCRIPT_SOURCE = PACKAGE_DIR / "bin" / "paasmas-deploy"

# Where the Jenkins node has the deploy script and its settings (inside the Jenkins container).
DEPLOY_SCRIPT_PATH = "/opt/paasmas/bin/paasmas-deploy"
PIPELINE_ENV_PATH = "/etc/paasmas/pipeline.env"

# Jenkins credential IDs the pipeline binds; JCasC must define them (docs/pipeline.md).
PAAS_TOKEN_CREDENTIALS_ID = "paasmas-paas-token"  # secret text: a Drycc API token
DATABASE_ADMIN_CREDENTIALS_ID = "paasmas-database-admin"  # username + password
BUILDER_SSH_CREDENTIALS_ID = "paasmas-builder-ssh"  # SSH private key registered with Drycc

PULL_REQUEST_APP_PREFIX = "pr-"
STAGING_APP_PREFIX = "stage-"


@dataclass(frozen=True)
class PipelineContext:
    """What the Job DSL seed, the cleanup job and the Jenkinsfile are rendered from.

    Built from a loaded PipelineConfig: components/config.py holds every rule of the settings,
    so what reaches the templates is already valid.
    """

    repository: GitHubRepository
    credentials_id: str
    app_name: str
    staging_branch: str
    production_branch: str
    deploy_script_path: str = DEPLOY_SCRIPT_PATH
    paas_token_credentials_id: str = PAAS_TOKEN_CREDENTIALS_ID
    database_admin_credentials_id: str = DATABASE_ADMIN_CREDENTIALS_ID
    builder_ssh_credentials_id: str = BUILDER_SSH_CREDENTIALS_ID

    @classmethod
    def from_config(cls, cfg: PipelineConfig) -> PipelineContext:
        """The context of a stack's pipeline; it needs a repository (no repository, no jobs)."""
        if cfg.repository is None:
            raise ValueError("pipeline.repository is not set: there are no jobs to render")
        return cls(repository=cfg.repository, credentials_id=cfg.credentials_id,
                   app_name=cfg.app_name, staging_branch=cfg.staging_branch,
                   production_branch=cfg.production_branch)

    @property
    def cleanup_job_name(self) -> str:
        return f"{self.app_name}-pr-cleanup"

    @property
    def branch_source_id(self) -> str:
        # Job DSL needs a constant, unique id per branch source (JENKINS-43693).
        digest = hashlib.sha256(self.repository.url.encode()).hexdigest()[:12]
        return f"{self.app_name}-{digest}"


@dataclass(frozen=True)
class PlatformEndpoints:
    """The stack outputs the deploy script needs; all of them non-secret."""

    paas_domain: str
    paas_controller_url: str
    paas_builder_remote: str
    database_host: str
    database_port: int
    # CA of the database servers' certificates on the Jenkins node; None: TLS unverified.
    database_ssl_ca: str | None = None

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any]) -> PlatformEndpoints:
        return cls(
            paas_domain=str(outputs["paas_domain"]),
            paas_controller_url=str(outputs["paas_controller_url"]),
            paas_builder_remote=str(outputs["paas_builder_remote"]),
            database_host=str(outputs["database_host"]),
            database_port=int(outputs["database_port"]),
        )


def app_names(app_name: str) -> dict[str, str]:
    """The `app_names` stack output: what each environment's Drycc app is called."""
    return {
        "production": app_name,
        "staging": f"{STAGING_APP_PREFIX}{app_name}",
        "pull_request_prefix": PULL_REQUEST_APP_PREFIX,
    }


def groovy_string(value: object) -> str:
    """A single-quoted Groovy literal: no `$` interpolation, everything escaped."""
    text = str(value)
    for raw, escaped in (("\\", "\\\\"), ("'", "\\'"), ("\n", "\\n"), ("\r", "\\r"),
                         ("\t", "\\t")):
        text = text.replace(raw, escaped)
    return f"'{text}'"


def groovy_multiline_string(value: object) -> str:
    """A triple-single-quoted Groovy literal that keeps the text's lines readable."""
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'''{text}'''"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["groovy_string"] = groovy_string
    env.filters["groovy_multiline_string"] = groovy_multiline_string
    return env


def _render(template: str, **values: Any) -> str:
    return _environment().get_template(template).render(**values)


def _template_values(ctx: PipelineContext) -> dict[str, Any]:
    return {
        "ctx": ctx,
        "repository": ctx.repository,
        "app": ctx.app_name,
        "staging_app": app_names(ctx.app_name)["staging"],
    }


def render_cleanup_pipeline(ctx: PipelineContext) -> str:
    """The pipeline script of the job that tears down a closed pull request's app."""
    return _render("pr-cleanup.groovy.j2", **_template_values(ctx))


def render_job_dsl(ctx: PipelineContext) -> str:
    """The Job DSL seed: the cleanup job and the multibranch pipeline of the app repository.

    It contains no `${`, so JCasC's variable interpolation leaves it untouched when embedded.
    """
    return _render("seed.groovy.j2", cleanup_pipeline=render_cleanup_pipeline(ctx),
                   **_template_values(ctx))


def render_jenkinsfile(ctx: PipelineContext) -> str:
    """The Jenkinsfile an app team commits to the root of its repository."""
    return _render("Jenkinsfile.j2", **_template_values(ctx))


def render_pipeline_env(ctx: PipelineContext, endpoints: PlatformEndpoints) -> str:
    """The deploy script's settings file (PIPELINE_ENV_PATH on the Jenkins node)."""
    values = {
        "PAASMAS_APP": ctx.app_name,
        "PAASMAS_STAGING_BRANCH": ctx.staging_branch,
        "PAASMAS_PRODUCTION_BRANCH": ctx.production_branch,
        "PAAS_DOMAIN": endpoints.paas_domain,
        "PAAS_CONTROLLER_URL": endpoints.paas_controller_url,
        "PAAS_BUILDER_REMOTE": endpoints.paas_builder_remote,
        "DATABASE_HOST": endpoints.database_host,
        "DATABASE_PORT": str(endpoints.database_port),
    }
    if endpoints.database_ssl_ca is not None:
        values["DATABASE_SSL_CA"] = endpoints.database_ssl_ca
    # The endpoints come from stack outputs, not from the config: checked here, where they land.
    bad = [key for key, value in values.items() if not value or any(c in value for c in "\r\n")]
    if bad:
        raise ValueError("\n".join(f"pipeline.env: {key} is empty or spans lines" for key in bad))
    return _render("pipeline.env.j2", values=values)


def deploy_script_text() -> str:
    """The deploy script, for the cloud-config to install at DEPLOY_SCRIPT_PATH (mode 0755)."""
    return DEPLOY_SCRIPT_SOURCE.read_text()
