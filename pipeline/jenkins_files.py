"""Write the pipeline's Jenkins files: `python -m pipeline.jenkins_files OUT_DIR ...`.

App teams use it to get the Jenkinsfile to commit; operators to look at the seed the stack
renders. The stack itself calls pipeline.jobs directly. The arguments are checked by the stack's
own rules for `paasmas:pipeline` (components/config.py), so what renders here also loads there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from components.config import ConfigError, load_pipeline
from pipeline.jobs import (
    PipelineContext,
    render_cleanup_pipeline,
    render_jenkinsfile,
    render_job_dsl,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.jenkins_files", description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--repository", default="https://github.com/example/ghost")
    parser.add_argument("--credentials-id", default="github")
    parser.add_argument("--app-name", default="ghost")
    parser.add_argument("--staging-branch", default="development")
    parser.add_argument("--production-branch", default="master")
    args = parser.parse_args(argv)
    try:
        cfg = load_pipeline({
            "repository": args.repository,
            "credentials_id": args.credentials_id,
            "app_name": args.app_name,
            "staging_branch": args.staging_branch,
            "production_branch": args.production_branch,
        })
    except ConfigError as error:
        # The problems name the stack keys; each flag is the key's name with dashes.
        print("\n".join(error.problems), file=sys.stderr)
        return 2
    ctx = PipelineContext.from_config(cfg)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (("Jenkinsfile", render_jenkinsfile(ctx)),
                       ("seed.groovy", render_job_dsl(ctx)),
                       ("pr-cleanup.groovy", render_cleanup_pipeline(ctx))):
        (args.out_dir / name).write_text(text)
        print(args.out_dir / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
