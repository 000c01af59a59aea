"""Team state: the `lab` stack with its state in an S3-compatible bucket, as a team of operators
shares it (README "State and secrets"). The bucket is served by moto's S3 server on a free
loopback port; the CLI reaches it through Pulumi's DIY backend (`s3://…?endpoint=…`).

Shown with the real CLI, program and provider on the local cloud: the stack's state lives in the
bucket; two `pulumi up` of the stack started at the same moment: one applies, the other stops at
once naming the lock the first holds (the DIY backend does not wait); the state after it is
whole and a preview changes nothing; `pulumi destroy` leaves nothing in the project.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lab_cloud import leftovers, project_residue, unique_name
from lab_stack import Stack, lab_stack_config, new_stack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning"),
]

BUCKET = "paasmas-team-state"
REGION = "us-east-1"
# What pulumi/pkg/backend/diy/lock.go says when another process holds the stack's lock.
LOCKED = "the stack is currently locked by 1 lock(s)"
# Simultaneous starts where both writers see each other's lock make both stop (the DIY lock is
# check, write, check again); such a round changes nothing and is run again, at most this often.
RACE_ROUNDS = 3


@dataclass(frozen=True)
class TeamBucket:
    """The S3 server and the environment a team's operator sets to use it."""

    client: Any
    env: dict[str, str]


@dataclass(frozen=True)
class Up:
    returncode: int
    output: str
    seconds: float


@dataclass
class Race:
    """The rounds of two concurrent `pulumi up`; the last one has a winner."""

    rounds: list[tuple[Up, Up]] = field(default_factory=list)
    resources_after_lost_rounds: list[int] = field(default_factory=list)

    @property
    def last(self) -> tuple[Up, Up]:
        return self.rounds[-1]


@pytest.fixture(scope="module")
def bucket() -> Iterator[TeamBucket]:
    server_module = pytest.importorskip(
        "moto.server", reason="moto is not installed: `make venv` (requirements-dev.txt)"
    )
    boto3 = pytest.importorskip("boto3", reason="boto3 (moto's dependency) is not installed")
    # One log record per S3 request otherwise, in every failure report.
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        keys = {"AWS_ACCESS_KEY_ID": "team-state-test", "AWS_SECRET_ACCESS_KEY": "team-state-test"}
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        )
        client.create_bucket(Bucket=BUCKET)
        # The README's form; moto sends no response checksums, hence the last parameter.
        url = (
            f"s3://{BUCKET}?endpoint={endpoint}&use_path_style=true&region={REGION}"
            "&response_checksum_validation=when_required"
        )
        yield TeamBucket(client, {"PULUMI_BACKEND_URL": url, **keys})
    finally:
        server.stop()
        werkzeug_log.setLevel(level)


def bucket_keys(bucket: TeamBucket, prefix: str = "") -> list[str]:
    listed = bucket.client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(str(o["Key"]) for o in listed.get("Contents", []))


def concurrent_ups(stack: Stack, logs: Path) -> tuple[Up, Up]:
    """Two `pulumi up` of the stack started together, as two operators would."""
    args = [stack.pulumi, "up", "--yes", "--skip-preview", "--non-interactive", "--stack",
            stack.name]
    outputs = [logs / f"up-{i}.log" for i in range(2)]
    files = [path.open("w") for path in outputs]
    started = time.monotonic()
    procs = [
        subprocess.Popen(args, cwd=stack.project, env=stack.env, stdout=f,
                         stderr=subprocess.STDOUT, text=True)
        for f in files
    ]
    ended: dict[int, float] = {}
    try:
        while len(ended) < len(procs):
            for i, proc in enumerate(procs):
                if i not in ended and proc.poll() is not None:
                    ended[i] = time.monotonic() - started
            assert time.monotonic() - started < 1200, "the concurrent ups did not end in 20 min"
            time.sleep(0.2)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for f in files:
            f.close()
    first, second = (
        Up(proc.returncode, outputs[i].read_text(), ended[i]) for i, proc in enumerate(procs)
    )
    return first, second


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, bucket: TeamBucket
) -> Iterator[tuple[Stack, Race]]:
    """The lab stack on the bucket after concurrent `up`s; destroyed by the last test, or here
    should a test before it fail."""
    tmp = tmp_path_factory.mktemp("team-state")
    stack = new_stack(tmp, unique_name("stack"), lab_stack_config(), backend_env=bucket.env)
    race = Race()
    try:
        for _ in range(RACE_ROUNDS):
            race.rounds.append(concurrent_ups(stack, tmp))
            if any(up.returncode == 0 for up in race.last):
                break
            race.resources_after_lost_rounds.append(stack.resource_count())
        yield stack, race
    finally:
        if stack.resource_count():
            stack.destroy()


def test_the_stack_state_lives_in_the_bucket(
    stack: tuple[Stack, Race], bucket: TeamBucket
) -> None:
    lab, _ = stack
    checkpoint_key = f".pulumi/stacks/paasmas/{lab.name}.json"
    keys = bucket_keys(bucket)
    assert ".pulumi/meta.yaml" in keys
    assert checkpoint_key in keys, keys
    assert any(k.startswith(f".pulumi/history/paasmas/{lab.name}/") for k in keys), keys
    body = bucket.client.get_object(Bucket=BUCKET, Key=checkpoint_key)["Body"].read()
    resources = json.loads(body)["checkpoint"]["latest"]["resources"]
    assert len(resources) == lab.resource_count() > 50
    # Nothing of the stack went to the file backend new_stack prepares.
    assert not any((lab.project.parent / "backend").iterdir())
    print(f"\nbucket objects: {len(keys)}; stack resources: {len(resources)}")


def test_of_two_concurrent_ups_one_applies_and_the_other_stops_naming_the_lock(
    stack: tuple[Stack, Race], bucket: TeamBucket
) -> None:
    lab, race = stack
    # A round where both stopped changed nothing and each named the lock.
    for (a, b), count in zip(race.rounds, race.resources_after_lost_rounds, strict=False):
        assert a.returncode != 0 and b.returncode != 0
        assert LOCKED in a.output and LOCKED in b.output, (a.output[-2000:], b.output[-2000:])
        assert count == 0
    first, second = race.last
    winners = [up for up in (first, second) if up.returncode == 0]
    losers = [up for up in (first, second) if up.returncode != 0]
    assert len(winners) == 1 and len(losers) == 1, (first.output[-3000:], second.output[-3000:])
    (winner,), (loser,) = winners, losers
    assert LOCKED in loser.output, loser.output[-3000:]
    lock_line = next(line for line in loser.output.splitlines() if ".pulumi/locks/" in line)
    assert f"/.pulumi/locks/organization/paasmas/{lab.name}/" in lock_line
    # It stopped at once, while the other held the lock: it did not wait and did nothing.
    assert loser.seconds < winner.seconds / 2, (loser.seconds, winner.seconds)
    assert "Resources:" not in loser.output
    print(
        f"\nrounds: {len(race.rounds)}; winner: {winner.seconds:.1f} s; "
        f"loser stopped after {loser.seconds:.1f} s with:\n"
        + "\n".join(line for line in loser.output.splitlines() if line.strip())
    )
    # The state is whole: one update, every resource it created recorded, nothing pending,
    # no lock left behind.
    deployment = json.loads(lab.must("stack", "export"))["deployment"]
    assert not deployment.get("pending_operations")
    count = len(deployment["resources"])
    # The change summary does not count the provider resources the state records.
    providers = sum(r["type"].startswith("pulumi:providers:") for r in deployment["resources"])
    history = json.loads(lab.must("stack", "history", "--json"))
    assert [(h["kind"], h["result"]) for h in history] == [("update", "succeeded")]
    changes = {k: v for k, v in history[0]["resourceChanges"].items() if v}
    assert changes == {"create": count - providers}, (changes, count, providers)
    assert bucket_keys(bucket, ".pulumi/locks/") == []
    print(f"resources after the race: {count} ({providers} providers)")


def test_a_preview_after_the_race_changes_nothing(stack: tuple[Stack, Race]) -> None:
    lab, _ = stack
    lab.must("preview", "--expect-no-changes")


def test_destroy_leaves_nothing_of_the_stack(
    cloud: Any, stack: tuple[Stack, Race], bucket: TeamBucket
) -> None:
    """Last in this module."""
    lab, _ = stack
    ids = lab.cloud_ids()
    assert len(ids) > 50
    lab.destroy()
    assert lab.resource_count() == 0
    left = [
        r for r in project_residue(cloud) if f"paasmas-{lab.name}-" in r or any(i in r for i in ids)
    ]
    assert not left, f"left behind by pulumi destroy: {left}"
    assert not leftovers(cloud, prefix=f"paasmas-{lab.name}-")
    assert bucket_keys(bucket, ".pulumi/locks/") == []
    print(f"\ntimes (s): {', '.join(f'{k} {v:.1f}' for k, v in lab.seconds.items())}")
