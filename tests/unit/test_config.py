"""Every config rule: a bad value is rejected with its dotted key, and all problems at once."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from components.config import (
    ConfigError,
    DatabaseLoadBalancerMode,
    GitHubRepository,
    ServerGroupPolicy,
    load,
    load_pipeline,
)
from tests.unit.harness import as_pulumi_config, stack_values, with_changes

pytestmark = pytest.mark.unit

LAB = stack_values("lab")


def problems_of(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(as_pulumi_config(values))
    return caught.value.problems


def test_lab_and_example_stacks_load() -> None:
    lab = load(as_pulumi_config(LAB))
    assert lab.paas.node.size == 3
    assert lab.network.cidr == ipaddress.IPv4Network("10.20.0.0/24")
    assert lab.paas.node.server_group_policy is ServerGroupPolicy.SOFT_ANTI_AFFINITY
    assert lab.database.load_balancer.mode is DatabaseLoadBalancerMode.OCTAVIA
    assert lab.pipeline.app_name == "ghost"
    example = load(as_pulumi_config(stack_values("example")))
    assert example.database.load_balancer.mode is DatabaseLoadBalancerMode.HAPROXY
    assert example.database.load_balancer.node is not None
    assert example.paas.node.image == "flatcar-stable"  # inherited from paasmas:image


def test_defaults_fill_what_is_left_out() -> None:
    cfg = load(as_pulumi_config(with_changes(LAB, database={"data_volume_size": None},
                                             pipeline={"app_name": None})))
    assert cfg.database.data_volume_size == 20
    assert cfg.pipeline.app_name == "ghost"
    assert cfg.pipeline.staging_branch == "development"
    assert cfg.pipeline.production_branch == "master"
    assert cfg.pipeline.credentials_id == "git-host"
    assert cfg.database.replace_on_user_data_change is False
    assert cfg.bastion.enabled is True


def _drop(key: str) -> dict[str, Any]:
    values = dict(LAB)
    del values[key]
    return values


BAD_CONFIGS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown top-level key", {**LAB, "paasmas:netwrok": {"cidr": "10.0.0.0/24"}}, "netwrok"),
    ("unknown nested key", with_changes(LAB, paas={"sise": 3}), "paas.sise"),
    ("size not a number", with_changes(LAB, paas={"size": "three"}), "paas.size"),
    ("size is a boolean", with_changes(LAB, database={"size": True}), "database.size"),
    ("even paas size", with_changes(LAB, paas={"size": 4}), "paas.size"),
    ("paas size too small", with_changes(LAB, paas={"size": 1}), "paas.size"),
    ("even database size", with_changes(LAB, database={"size": 2}), "database.size"),
    ("database size too big", with_changes(LAB, database={"size": 11}), "database.size"),
    ("no jenkins", with_changes(LAB, jenkins={"size": 0}), "jenkins.size"),
    ("malformed cidr", with_changes(LAB, network={"cidr": "10.20.0/24"}), "network.cidr"),
    ("public cidr", with_changes(LAB, network={"cidr": "8.8.8.0/24"}), "network.cidr"),
    ("cidr with host bits", with_changes(LAB, network={"cidr": "10.20.0.1/24"}), "network.cidr"),
    ("cidr too small", with_changes(LAB, network={"cidr": "10.20.0.0/27"}), "network.cidr"),
    ("ipv6 cidr", with_changes(LAB, network={"cidr": "fd00::/64"}), "network.cidr"),
    ("cidr overlaps the pod range", with_changes(LAB, network={"cidr": "10.42.7.0/24"}),
     "paas.cluster_cidr"),
    ("pod and service ranges overlap",
     with_changes(LAB, paas={"service_cidr": "10.42.128.0/17"}), "paas.service_cidr"),
    ("missing external network", with_changes(LAB, network={"external_network": None}),
     "network.external_network"),
    ("existing network and cidr",
     with_changes(LAB, network={"existing": {"network": "n", "subnet": "s"}}), "network.cidr"),
    ("neither existing nor cidr", with_changes(LAB, network={"cidr": None}), "network.cidr"),
    ("existing without subnet",
     with_changes(LAB, network={"cidr": None, "existing": {"network": "n"}}),
     "network.existing.subnet"),
    ("bad dns server", with_changes(LAB, network={"dns_servers": ["1.1.1"]}),
     "network.dns_servers[0]"),
    ("mtu out of range", with_changes(LAB, network={"mtu": 100}), "network.mtu"),
    ("no ssh key", with_changes(LAB, access={"ssh_public_key": None}), "access.ssh_public_key"),
    ("key and existing keypair", with_changes(LAB, access={"existing_keypair": "k"}),
     "access.existing_keypair"),
    ("malformed ssh key", with_changes(LAB, access={"ssh_public_key": "not a key"}),
     "access.ssh_public_key"),
    ("ssh open to the world", with_changes(LAB, access={"ssh_allowed_cidrs": ["0.0.0.0/0"]}),
     "access.ssh_allowed_cidrs[0]"),
    ("ssh cidrs missing with a bastion", with_changes(LAB, access={"ssh_allowed_cidrs": None}),
     "access.ssh_allowed_cidrs"),
    ("ssh cidrs not a list", with_changes(LAB, access={"ssh_allowed_cidrs": "10.0.0.0/8"}),
     "access.ssh_allowed_cidrs"),
    ("jenkins open to the world",
     with_changes(LAB, jenkins={"allowed_cidrs": ["::/0"]}), "jenkins.allowed_cidrs[0]"),
    ("missing paas flavor", with_changes(LAB, paas={"flavor": None}), "paas.flavor"),
    ("missing image", _drop("paasmas:image"), "paas.image"),
    ("unknown server group policy",
     with_changes(LAB, database={"server_group_policy": "spread"}),
     "database.server_group_policy"),
    ("affinity for a quorum", with_changes(LAB, paas={"server_group_policy": "affinity"}),
     "paas.server_group_policy"),
    ("unknown load balancer mode",
     with_changes(LAB, database={"load_balancer": {"mode": "maxscale"}}),
     "database.load_balancer.mode"),
    ("haproxy options in octavia mode",
     with_changes(LAB, database={"load_balancer": {"mode": "octavia", "flavor": "x"}}),
     "database.load_balancer.flavor"),
    ("haproxy mode without a flavor",
     with_changes(LAB, database={"load_balancer": {"mode": "haproxy"}}),
     "database.load_balancer.flavor"),
    ("volume size zero", with_changes(LAB, database={"data_volume_size": 0}),
     "database.data_volume_size"),
    ("root as app user", with_changes(LAB, database={"user": "root"}), "database.user"),
    ("bad database name", with_changes(LAB, database={"name": "my-db"}), "database.name"),
    ("replace flag not boolean",
     with_changes(LAB, database={"replace_on_user_data_change": "yes"}),
     "database.replace_on_user_data_change"),
    ("floating ips count mismatch", with_changes(LAB, jenkins={"floating_ips": ["1.2.3.4"] * 2}),
     "jenkins.floating_ips"),
    ("bad paas domain", with_changes(LAB, paas={"domain": "Not A Domain"}), "paas.domain"),
    ("bad app name", with_changes(LAB, pipeline={"app_name": "Ghost_Blog"}),
     "pipeline.app_name"),
    ("bad repository", with_changes(LAB, pipeline={"repository": "github.com/x"}),
     "pipeline.repository"),
    ("same staging and production branch",
     with_changes(LAB, pipeline={"staging_branch": "master"}), "pipeline.staging_branch"),
    ("proxy without scheme", with_changes(LAB, downloads={"http_proxy": "proxy:3128"}),
     "downloads.http_proxy"),
    ("section not a mapping", {**LAB, "paasmas:paas": "big"}, "paas"),
    ("two bastions", with_changes(LAB, bastion={"size": 2}), "bastion.size"),
    ("bad dns zone", with_changes(LAB, paas={"dns_zone": "not a zone"}), "paas.dns_zone"),
    ("domain outside the dns zone",
     with_changes(LAB, paas={"dns_zone": "example.com.", "domain": "paas.example.org"}),
     "paas.domain"),
    ("dns ttl too short", with_changes(LAB, paas={"dns_zone": "example.com", "dns_ttl": 5}),
     "paas.dns_ttl"),
]


@pytest.mark.parametrize(("values", "key"), [(v, k) for _, v, k in BAD_CONFIGS],
                         ids=[case for case, _, _ in BAD_CONFIGS])
def test_bad_config_names_the_key(values: dict[str, Any], key: str) -> None:
    problems = problems_of(values)
    assert any(p.startswith(f"{key}: ") for p in problems), problems
    # every line reads `key: what is wrong — how to fix it`
    for line in problems:
        head, _, fix = line.partition(" — ")
        assert ": " in head and fix.strip(), line


def test_at_least_25_distinct_rules_are_covered() -> None:
    assert len({key for _, _, key in BAD_CONFIGS}) >= 25


def test_every_problem_is_reported_at_once() -> None:
    values = with_changes(LAB, paas={"size": 2, "flavor": None},
                          database={"load_balancer": {"mode": "f5"}},
                          network={"cidr": "300.1.1.0/24"})
    keys = {p.split(":")[0] for p in problems_of(values)}
    assert {"paas.size", "paas.flavor", "database.load_balancer.mode", "network.cidr"} <= keys


def test_typo_suggests_the_known_key() -> None:
    problems = problems_of(with_changes(LAB, database={"data_volume_sise": 5}))
    assert any("did you mean 'database.data_volume_size'" in p for p in problems), problems


def test_error_message_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        load(as_pulumi_config(with_changes(LAB, paas={"size": 4}, jenkins={"size": 0})))
    message = str(caught.value)
    assert "2 problem(s)" in message
    assert "paas.size: 4 — must be odd" in message
    assert "jenkins.size" in message


def test_pulumi_text_values_are_parsed() -> None:
    raw = as_pulumi_config(with_changes(LAB, paas={"size": "5"},
                                        database={"replace_on_user_data_change": "true"}))
    cfg = load(raw)
    assert cfg.paas.node.size == 5
    assert cfg.database.replace_on_user_data_change is True


def test_other_namespaces_are_ignored() -> None:
    cfg = load({**as_pulumi_config(LAB), "openstack:cloud": "x", "pulumi:tags": "{}"})
    assert cfg.network.external_network == "public"


def test_existing_network_by_name() -> None:
    cfg = load(as_pulumi_config(with_changes(
        LAB, network={"cidr": None, "existing": {"network": "n", "subnet": "s", "router": "r"}})))
    assert cfg.network.cidr is None
    assert cfg.network.existing is not None and cfg.network.existing.router == "r"


def test_bastion_can_be_disabled_without_its_keys() -> None:
    cfg = load(as_pulumi_config(with_changes(LAB, bastion={"enabled": False, "flavor": None})))
    assert cfg.bastion.enabled is False


def test_floating_ips_true_allocates_one_per_node() -> None:
    cfg = load(as_pulumi_config(with_changes(LAB, jenkins={"floating_ips": True})))
    assert cfg.jenkins.node.floating_ips == ("",)


def test_dns_zone_is_absolute_and_the_domain_defaults_to_it() -> None:
    cfg = load(as_pulumi_config(with_changes(LAB, paas={"dns_zone": "Cloud.Example.com"})))
    assert cfg.paas.dns_zone == "cloud.example.com."
    assert cfg.paas.domain == "cloud.example.com"
    assert cfg.paas.dns_ttl == 300


@pytest.mark.parametrize("domain", ["paas.example.com", "a.b.example.com.", "example.com"])
def test_a_domain_inside_the_dns_zone_is_kept(domain: str) -> None:
    cfg = load(as_pulumi_config(with_changes(
        LAB, paas={"dns_zone": "example.com.", "domain": domain, "dns_ttl": 60})))
    assert cfg.paas.dns_zone == "example.com."
    assert cfg.paas.domain == domain.rstrip(".")
    assert cfg.paas.dns_ttl == 60


def test_a_domain_that_only_ends_like_the_zone_is_outside_it() -> None:
    problems = problems_of(with_changes(
        LAB, paas={"dns_zone": "example.com", "domain": "paas.badexample.com"}))
    assert [p for p in problems if p.startswith("paas.domain: ")], problems


def test_without_a_dns_zone_nothing_changes() -> None:
    cfg = load(as_pulumi_config(LAB))
    assert cfg.paas.dns_zone is None


# ---------------------------------------------------------------------------------------------
# The pipeline settings: every rule the Jenkins files and the deploy script need is checked
# here, before the program declares anything (the renderer no longer checks them).

APP_NAME_FIX = "use 1-24 lower-case letters"
PIPELINE_REJECTIONS: list[tuple[str, dict[str, Any], str, str]] = [
    ("scp-style ssh url", {"repository": "git@github.com:o/r.git"}, "pipeline.repository",
     "'git@github.com:o/r.git' is not an https URL of the form "
     "https://<host>/<owner>/<repo>[.git] — use the https URL, e.g. https://github.com/o/r.git"),
    ("ssh url", {"repository": "ssh://git@github.com/o/r.git"}, "pipeline.repository",
     "'ssh://git@github.com/o/r.git' is not an https URL of the form "
     "https://<host>/<owner>/<repo>[.git] — use the https URL, e.g. https://github.com/o/r.git"),
    ("http url", {"repository": "http://github.com/o/r"}, "pipeline.repository",
     "is not an https URL"),
    ("no repository name", {"repository": "https://github.com/o"}, "pipeline.repository",
     "does not name one repository"),
    ("nested path", {"repository": "https://github.com/o/r/tree/main"}, "pipeline.repository",
     "does not name one repository"),
    ("token in the url", {"repository": "https://x:tok@github.com/o/r.git"},
     "pipeline.repository", "carries a user name or password"),
    ("query in the url", {"repository": "https://github.com/o/r?tab=readme"},
     "pipeline.repository", "has a query or fragment"),
    ("bad port", {"repository": "https://github.com:99999/o/r"}, "pipeline.repository",
     "is not a valid URL"),
    ("25-char app name", {"app_name": "a" * 25}, "pipeline.app_name",
     f"'{'a' * 25}' is 25 characters long — {APP_NAME_FIX}"),
    ("40-char app name", {"app_name": "b" * 40}, "pipeline.app_name",
     f"'{'b' * 40}' is 40 characters long — {APP_NAME_FIX}"),
    ("app name ending in a dash", {"app_name": "ghost-"}, "pipeline.app_name",
     "'ghost-' is not a valid app name"),
    ("bad credentials id", {"credentials_id": "has space"}, "pipeline.credentials_id",
     "'has space' is not a Jenkins credential ID"),
    ("staging branch like a pull-request job", {"staging_branch": "PR-1"},
     "pipeline.staging_branch", "'PR-1' collides with the pull-request jobs"),
    ("production branch like a pull-request job", {"production_branch": "PR-12"},
     "pipeline.production_branch", "'PR-12' collides with the pull-request jobs"),
    ("equal branches", {"staging_branch": "main", "production_branch": "main"},
     "pipeline.staging_branch", "same as pipeline.production_branch ('main')"),
    ("bad branch name", {"production_branch": "main; rm -rf /"}, "pipeline.production_branch",
     "'main; rm -rf /' is not a plain git branch name"),
    ("branch with a glob", {"staging_branch": "release/*"}, "pipeline.staging_branch",
     "'release/*' is not a plain git branch name"),
]


@pytest.mark.parametrize(("changes", "key", "text"), [(c, k, t) for _, c, k, t in
                                                       PIPELINE_REJECTIONS],
                         ids=[case for case, _, _, _ in PIPELINE_REJECTIONS])
def test_load_rejects_a_pipeline_the_renderer_cannot_use(changes: dict[str, Any], key: str,
                                                         text: str) -> None:
    # The lab stack is otherwise valid: this one mistake is the one problem, named by its key.
    (problem,) = problems_of(with_changes(LAB, pipeline=changes))
    assert problem.startswith(f"{key}: "), problem
    assert text in problem, problem


def test_app_name_message_says_why_24() -> None:
    (problem,) = problems_of(with_changes(LAB, pipeline={"app_name": "c" * 25}))
    assert "pr-<N>-<app> must fit MySQL's 32 characters" in problem


@pytest.mark.parametrize(("url", "expected"), [
    ("https://github.com/paasmas/ghost.git",
     GitHubRepository("https://github.com/paasmas/ghost", "github.com", "paasmas", "ghost")),
    ("https://github.com/paasmas/ghost",
     GitHubRepository("https://github.com/paasmas/ghost", "github.com", "paasmas", "ghost")),
    ("https://git.example.com:8443/web-team/blog.site.git",
     GitHubRepository("https://git.example.com:8443/web-team/blog.site", "git.example.com:8443",
                      "web-team", "blog.site")),
])
def test_https_repository_is_accepted_and_parsed(url: str, expected: GitHubRepository) -> None:
    cfg = load(as_pulumi_config(with_changes(LAB, pipeline={"repository": url})))
    assert cfg.pipeline.repository == expected


def test_pipeline_without_a_repository_loads() -> None:
    cfg = load(as_pulumi_config(with_changes(LAB, pipeline={"repository": None})))
    assert cfg.pipeline.repository is None


def test_longest_app_name_and_unusual_branches_load() -> None:
    # "pr-<N>-<app>" becomes a MySQL user name of at most 32 characters: 24 leaves 4 digits.
    cfg = load(as_pulumi_config(with_changes(LAB, pipeline={
        "app_name": "a" * 23 + "1", "credentials_id": "gh.bot_1-ci",
        "staging_branch": "release/2026.1_rc-1", "production_branch": "stable"})))
    assert cfg.pipeline.app_name == "a" * 23 + "1"
    assert (cfg.pipeline.staging_branch, cfg.pipeline.production_branch) == (
        "release/2026.1_rc-1", "stable")


def test_every_bad_pipeline_setting_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        load_pipeline({
            "repository": "git@github.com:paulczar/ci-demo.git",
            "credentials_id": "has space",
            "app_name": "Ghost_Blog",
            "staging_branch": "PR-1",
            "production_branch": "main; rm -rf /",
            "colour": "blue",
        })
    assert [p.split(":")[0] for p in raised.value.problems] == [
        "pipeline.repository", "pipeline.credentials_id", "pipeline.app_name",
        "pipeline.staging_branch", "pipeline.production_branch", "pipeline.colour"]


def test_load_pipeline_applies_the_stack_defaults() -> None:
    cfg = load_pipeline({})
    assert (cfg.repository, cfg.credentials_id, cfg.app_name, cfg.staging_branch,
            cfg.production_branch) == (None, "git-host", "ghost", "development", "master")


def test_load_and_load_pipeline_agree() -> None:
    settings = {"repository": "https://github.com/o/r.git", "app_name": "blog",
                "staging_branch": "main", "production_branch": "main"}
    with pytest.raises(ConfigError) as alone:
        load_pipeline(settings)
    stack = problems_of({**LAB, "paasmas:pipeline": settings})
    assert alone.value.problems == stack
