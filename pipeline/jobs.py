"""Render the Jenkins side of the deploy pipeline from the stack's settings and outputs.

Pure functions, no Pulumi: the cloud-config embeds `render_job_dsl(ctx)` in its JCasC `jobs:`
entry and writes `render_pipeline_env(...)` and `deploy_script_text()` onto the Jenkins node;
app teams commit `render_jenkinsfile(ctx)` to their repository. docs/pipeline.md is the contract.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

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

# Drycc app ids and MySQL user names (32 characters) must both fit "pr-<N>-<app>"; the deploy
# script checks the same pattern.
_APP_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$")
# Git ref names we accept for the deploy branches: no spaces, quotes or glob characters.
_BRANCH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
_CREDENTIALS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")


class PipelineConfigError(ValueError):
    """Every problem in the pipeline settings, one `key: problem` line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class GitHubRepository:
    """An application repository on GitHub or GitHub Enterprise, from its https URL."""

    url: str
    host: str
    owner: str
    name: str

    @classmethod
    def parse(cls, url: str) -> GitHubRepository:
        parts = urlsplit(url)
        segments = [s for s in parts.path.split("/") if s]
        if (
            parts.scheme != "https"
            or not parts.hostname
            or parts.query
            or parts.fragment
            or len(segments) != 2
            or not all(_PATH_SEGMENT.match(s) for s in segments)
        ):
            raise ValueError("must be an https URL of the form https://<host>/<owner>/<repository>")
        owner, name = segments[0], segments[1].removesuffix(".git")
        return cls(url=f"https://{parts.netloc}/{owner}/{name}", host=parts.netloc, owner=owner,
                   name=name)


@dataclass(frozen=True)
class PipelineContext:
    """What the Job DSL seed, the cleanup job and the Jenkinsfile are rendered from."""

    repository: GitHubRepository
    credentials_id: str
    app_name: str = "ghost"
    staging_branch: str = "development"
    production_branch: str = "master"
    deploy_script_path: str = DEPLOY_SCRIPT_PATH
    paas_token_credentials_id: str = PAAS_TOKEN_CREDENTIALS_ID
    database_admin_credentials_id: str = DATABASE_ADMIN_CREDENTIALS_ID
    builder_ssh_credentials_id: str = BUILDER_SSH_CREDENTIALS_ID

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], prefix: str = "pipeline"
    ) -> PipelineContext:
        """Validate the stack's `pipeline` settings; raise listing every problem at once."""
        problems: list[str] = []
        known = {"repository", "credentials_id", "app_name", "staging_branch", "production_branch"}
        problems += [f"{prefix}.{key}: unknown setting" for key in sorted(set(settings) - known)]

        def text(key: str, default: str | None) -> str:
            value = settings.get(key, default)
            if value is None:
                problems.append(f"{prefix}.{key}: required")
                return ""
            if not isinstance(value, str):
                problems.append(f"{prefix}.{key}: must be a string, got {type(value).__name__}")
                return ""
            return value

        repository_url = text("repository", None)
        credentials_id = text("credentials_id", None)
        app_name = text("app_name", "ghost")
        staging = text("staging_branch", "development")
        production = text("production_branch", "master")

        repository: GitHubRepository | None = None
        if repository_url:
            try:
                repository = GitHubRepository.parse(repository_url)
            except ValueError as error:
                problems.append(f"{prefix}.repository: {repository_url!r} {error}")
        if credentials_id and not _CREDENTIALS_ID.match(credentials_id):
            problems.append(f"{prefix}.credentials_id: {credentials_id!r} — use letters, digits, "
                            "'.', '_' and '-' (a Jenkins credential id)")
        if app_name and not _APP_NAME.match(app_name):
            problems.append(f"{prefix}.app_name: {app_name!r} — 1-24 of a-z, 0-9 and '-', starting "
                            "with a letter (pr-<N>-<app> must fit a 32-character database user)")
        for key, branch in (("staging_branch", staging), ("production_branch", production)):
            if branch and not _BRANCH_NAME.match(branch):
                problems.append(f"{prefix}.{key}: {branch!r} is not a plain git branch name")
            if branch.startswith("PR-"):
                problems.append(
                    f"{prefix}.{key}: {branch!r} collides with pull-request jobs (PR-*)")
        if staging and staging == production:
            problems.append(f"{prefix}.production_branch: must differ from staging_branch "
                            f"({staging!r}): production deploys only from its own branch")
        if problems or repository is None:
            raise PipelineConfigError(problems)
        return cls(repository=repository, credentials_id=credentials_id, app_name=app_name,
                   staging_branch=staging, production_branch=production)

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
    bad = [key for key, value in values.items() if not value or any(c in value for c in "\r\n")]
    if bad:
        raise PipelineConfigError([f"pipeline.env: {key} is empty or spans lines" for key in bad])
    return _render("pipeline.env.j2", values=values)


def deploy_script_text() -> str:
    """The deploy script, for the cloud-config to install at DEPLOY_SCRIPT_PATH (mode 0755)."""
    return DEPLOY_SCRIPT_SOURCE.read_text()
