"""Config rules about meaning, not spelling: a setting that would be ignored, that opens a port to
the internet however it is written, that locks operators out, that takes over one of the
platform's own accounts, or that sits in a namespace one typo away from ours. Each bad input
gets one line naming its key and the fix, and nothing is declared."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, load
from components.preflight import reused_subnet_overlaps
from tests.unit.harness import as_pulumi_config, stack_values, with_changes

pytestmark = pytest.mark.unit

LAB = stack_values("lab")
FIP = "172.24.4.77"
HALVES = ["0.0.0.0/1", "128.0.0.0/1"]
EVERY_SLASH_8 = [f"{i}.0.0.0/8" for i in range(256)]  # each one allowed, together the internet
NINE_SLASH_9S = [f"{16 * i}.0.0.0/9" for i in range(2, 11)]  # 9 x 8M: more than a /8


def raw_with(namespace_key: str, value: Any) -> dict[str, str]:
    raw = as_pulumi_config(LAB)
    raw[namespace_key] = value
    return raw


# (id, raw stack config, the line the loader must print, from its start)
BAD_INPUTS: list[tuple[str, dict[str, str], str]] = [
    ("ssh world-open as 256 /8s",
     as_pulumi_config(with_changes(LAB, access={"ssh_allowed_cidrs": EVERY_SLASH_8})),
     "access.ssh_allowed_cidrs: 0.0.0.0/8, 1.0.0.0/8, "),
    ("jenkins open to more than a /8 in pieces",
     as_pulumi_config(with_changes(LAB, jenkins={"allowed_cidrs": NINE_SLASH_9S})),
     "jenkins.allowed_cidrs: 32.0.0.0/9, "),
    ("ssh from a /1", as_pulumi_config(with_changes(LAB, access={"ssh_allowed_cidrs": HALVES[:1]})),
     "access.ssh_allowed_cidrs[0]: 0.0.0.0/1 opens this port to 2147483648 addresses"),
    ("ssh from IPv6",
     as_pulumi_config(with_changes(LAB, access={"ssh_allowed_cidrs": ["2001:db8::/32"]})),
     "access.ssh_allowed_cidrs[0]: 2001:db8::/32 is IPv6"),
    ("paas clients from IPv6",
     as_pulumi_config(with_changes(LAB, paas={"allowed_cidrs": ["::/0"]})),
     "paas.allowed_cidrs[0]: ::/0 is IPv6"),
    ("a range listed twice",
     as_pulumi_config(with_changes(
         LAB, jenkins={"allowed_cidrs": ["172.24.4.0/24", "172.24.4.0/24"]})),
     "jenkins.allowed_cidrs[1]: 172.24.4.0/24 is listed twice"),
    ("login as root", as_pulumi_config(with_changes(LAB, access={"ssh_user": "root"})),
     "access.ssh_user: 'root' is a system account"),
    ("login as docker", as_pulumi_config(with_changes(LAB, access={"ssh_user": "docker"})),
     "access.ssh_user: 'docker' is a system account"),
    ("login name with a space",
     as_pulumi_config(with_changes(LAB, access={"ssh_user": "core admin"})),
     "access.ssh_user: 'core admin' is not a login name"),
    ("login name that is an ssh option",
     as_pulumi_config(with_changes(LAB, access={"ssh_user": "-oProxyCommand=id"})),
     "access.ssh_user: '-oProxyCommand=id' is not a login name"),
    ("login name in capitals", as_pulumi_config(with_changes(LAB, access={"ssh_user": "Core"})),
     "access.ssh_user: 'Core' is not a login name"),
    ("app user is the health check's",
     as_pulumi_config(with_changes(LAB, database={"user": "clustercheck"})),
     "database.user: 'clustercheck' is one of the platform's own database accounts"),
    ("app user is the pipeline's",
     as_pulumi_config(with_changes(LAB, database={"user": "paasmas_admin"})),
     "database.user: 'paasmas_admin' is one of the platform's own database accounts"),
    ("app database is mysql's",
     as_pulumi_config(with_changes(LAB, database={"name": "mysql"})),
     "database.name: 'mysql' is one of MySQL's own schemas"),
    ("app database is sys", as_pulumi_config(with_changes(LAB, database={"name": "SYS"})),
     "database.name: 'SYS' is one of MySQL's own schemas"),
    ("bastion floating_ips ignored",
     as_pulumi_config(with_changes(LAB, bastion={"floating_ips": [FIP]})),
     "bastion.floating_ips: ignored: the bastion always gets one floating IP"),
    ("one floating IP twice in a list",
     as_pulumi_config(with_changes(LAB, paas={"floating_ips": [FIP, "172.24.4.78", FIP]})),
     f"paas.floating_ips[2]: {FIP} is also paas.floating_ips[0]"),
    ("one floating IP for two roles",
     as_pulumi_config(with_changes(LAB, bastion={"floating_ip": FIP},
                                   jenkins={"floating_ips": [FIP]})),
     f"jenkins.floating_ips[0]: {FIP} is also bastion.floating_ip"),
    ("the PaaS entry point's address on a node",
     as_pulumi_config(with_changes(LAB, paas={"load_balancer_floating_ip": FIP,
                                              "floating_ips": [FIP, "172.24.4.78",
                                                               "172.24.4.79"]})),
     f"paas.floating_ips[0]: {FIP} is also paas.load_balancer_floating_ip"),
    ("database floating IPs", as_pulumi_config(with_changes(LAB, database={"floating_ips": True})),
     "database.floating_ips: database nodes stay private"),
    ("near-miss namespace", raw_with("pasmas:paas", '{"size": 5}'),
     "pasmas:paas: unknown namespace 'pasmas' — did you mean 'paasmas:paas'?"),
    ("namespace in other case", raw_with("PaaSmas:database", '{"size": 5}'),
     "PaaSmas:database: unknown namespace 'PaaSmas' — did you mean 'paasmas:database'?"),
    ("namespace with a doubled letter", raw_with("paasmass:image", "flatcar"),
     "paasmass:image: unknown namespace 'paasmass' — did you mean 'paasmas:image'?"),
]


@pytest.mark.parametrize(("raw", "line"), [(raw, line) for _, raw, line in BAD_INPUTS],
                         ids=[name for name, _, _ in BAD_INPUTS])
def test_bad_input_gets_one_line_naming_its_key(raw: dict[str, str], line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(raw)
    problems = caught.value.problems
    assert [p for p in problems if p.startswith(line)], problems
    assert len(problems) == 1, problems
    assert " — " in problems[0], problems[0]


def test_the_internet_in_two_halves_is_refused_half_by_half() -> None:
    with pytest.raises(ConfigError) as caught:
        load(as_pulumi_config(with_changes(LAB, access={"ssh_allowed_cidrs": HALVES})))
    assert [p.split(" — ")[0] for p in caught.value.problems] == [
        "access.ssh_allowed_cidrs[0]: 0.0.0.0/1 opens this port to 2147483648 addresses",
        "access.ssh_allowed_cidrs[1]: 128.0.0.0/1 opens this port to 2147483648 addresses"]


def test_every_slash_8_together_is_the_whole_internet() -> None:
    with pytest.raises(ConfigError) as caught:
        load(as_pulumi_config(with_changes(LAB, access={"ssh_allowed_cidrs": EVERY_SLASH_8})))
    (line,) = caught.value.problems
    assert "together open this port to the whole internet" in line


@pytest.mark.parametrize("ranges", [["203.0.113.0/24", "198.51.100.7/32"], ["10.0.0.0/8"],
                                    ["100.64.0.0/10", "192.168.0.0/16"]])
def test_restricted_ranges_up_to_a_slash_8_load(ranges: list[str]) -> None:
    cfg = load(as_pulumi_config(with_changes(LAB, access={"ssh_allowed_cidrs": ranges})))
    assert cfg.access.ssh_allowed_cidrs == tuple(ranges)


def test_the_paas_entry_point_may_stay_open_to_everyone() -> None:
    cfg = load(as_pulumi_config(with_changes(LAB, paas={"allowed_cidrs": HALVES})))
    assert cfg.paas.allowed_cidrs == tuple(HALVES)


def test_other_namespaces_are_left_to_their_owners() -> None:
    raw = {**as_pulumi_config(LAB), "openstack:region": "RegionOne",
           "pulumi:tags": '{"team": "platform"}', "myteam:owner": "ops"}
    assert load(raw).paas.node.size == 3


@pytest.mark.parametrize(("subnet", "expected"), [
    ("10.42.3.0/24", ["network.existing.subnet: its range 10.42.3.0/24 overlaps "
                      "paas.cluster_cidr (10.42.0.0/16) — pick another paas.cluster_cidr that "
                      "does not overlap it"]),
    ("10.0.0.0/8", ["network.existing.subnet: its range 10.0.0.0/8 overlaps paas.cluster_cidr",
                    "network.existing.subnet: its range 10.0.0.0/8 overlaps paas.service_cidr"]),
    ("10.60.0.0/24", []),
])
def test_a_reused_subnet_must_not_overlap_the_pod_or_service_range(
        subnet: str, expected: list[str]) -> None:
    cfg = load(as_pulumi_config(LAB))
    found = reused_subnet_overlaps(subnet, cfg)
    assert len(found) == len(expected)
    for line, start in zip(found, expected, strict=True):
        assert line.startswith(start), line
