"""The rendered Job DSL seed, cleanup pipeline and Jenkinsfile compile with Jenkins' Groovy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pipeline_harness import GroovyChecker

from components.config import load_pipeline
from pipeline.jobs import (
    PipelineContext,
    render_cleanup_pipeline,
    render_jenkinsfile,
    render_job_dsl,
)

pytestmark = pytest.mark.pipeline

CONTEXTS = {
    "defaults": {"repository": "https://github.com/paulczar/ci-demo", "credentials_id": "github"},
    # Every character class the settings allow, and a GitHub Enterprise host.
    "unusual": {
        "repository": "https://git.example.com:8443/web-team/blog.site.git",
        "credentials_id": "gh.bot_1-ci",
        "app_name": "blog-2",
        "staging_branch": "release/2026.1_rc-1",
        "production_branch": "stable",
    },
}


def render_all(tmp_path: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for label, settings in CONTEXTS.items():
        ctx = PipelineContext.from_config(load_pipeline(settings))
        for kind, text in (("seed", render_job_dsl(ctx)), ("Jenkinsfile", render_jenkinsfile(ctx)),
                           ("cleanup", render_cleanup_pipeline(ctx))):
            path = tmp_path / f"{label}-{kind}.groovy"
            path.write_text(text)
            files[path.stem] = path
    return files


def test_rendered_groovy_compiles(groovy: GroovyChecker, tmp_path: Path) -> None:
    files = render_all(tmp_path)
    verdicts = groovy.check(list(files.values()))
    failed = {path.name: v.message for path, v in verdicts.items() if not v.ok}
    assert not failed
    assert len(verdicts) == 6


def test_checker_rejects_broken_groovy(groovy: GroovyChecker, tmp_path: Path) -> None:
    """The compiler check can fail: an unbalanced brace and an unresolvable class do."""
    ctx = PipelineContext.from_config(load_pipeline(CONTEXTS["defaults"]))
    unbalanced = tmp_path / "unbalanced.groovy"
    unbalanced.write_text(render_jenkinsfile(ctx).rstrip().removesuffix("}"))
    unknown_class = tmp_path / "unknown-class.groovy"
    unknown_class.write_text(render_job_dsl(ctx) + "\nnew NoSuchJenkinsClass()\n")

    verdicts = groovy.check([unbalanced, unknown_class])

    assert not verdicts[unbalanced].ok
    assert "expecting '}'" in verdicts[unbalanced].message
    assert not verdicts[unknown_class].ok
    assert "unable to resolve class NoSuchJenkinsClass" in verdicts[unknown_class].message


def unescape_groovy_triple_quoted(literal: str) -> str:
    return re.sub(r"\\(.)", lambda m: m.group(1), literal, flags=re.DOTALL)


@pytest.mark.parametrize("label", sorted(CONTEXTS))
def test_seed_embeds_the_cleanup_pipeline_verbatim(label: str) -> None:
    ctx = PipelineContext.from_config(load_pipeline(CONTEXTS[label]))
    seed = render_job_dsl(ctx)
    match = re.search(r"script\('''(.*?)(?<!\\)'''\)", seed, flags=re.DOTALL)
    assert match is not None
    assert unescape_groovy_triple_quoted(match.group(1)) == render_cleanup_pipeline(ctx)
