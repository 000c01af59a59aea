"""Names the config refers to are found in the cloud before anything is declared; what is
missing is reported like a config problem, every one at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from typing import Any

import pytest

from components.config import ConfigError, PlatformConfig, load
from components.preflight import CloudLookup, look_up
from tests.unit.harness import as_pulumi_config, stack_values, with_changes

pytestmark = pytest.mark.unit

LAB = stack_values("lab")


class FakeCloud:
    """A cloud holding exactly the named things; counts the lookups."""

    def __init__(self, *, missing: Collection[str] = ()) -> None:
        self.missing = missing
        self.calls: Counter[tuple[str, str]] = Counter()

    def _find(self, kind: str, name: str) -> str:
        self.calls[(kind, name)] += 1
        if name in self.missing:
            raise Exception(f"invoke failed:\n  Your query returned no results ({kind} {name})")
        return f"{kind}-{name}"

    def external_network(self, name: str) -> str:
        return self._find("external", name)

    def image(self, name: str) -> str:
        return self._find("image", name)

    def flavor(self, name: str) -> str:
        return self._find("flavor", name)

    def keypair(self, name: str) -> str:
        return self._find("keypair", name)

    def network(self, name_or_id: str) -> str:
        return self._find("network", name_or_id)

    def subnet(self, name_or_id: str) -> tuple[str, str]:
        return self._find("subnet", name_or_id), "10.60.0.0/24"

    def router(self, name_or_id: str) -> str:
        return self._find("router", name_or_id)

    def dns_zone(self, name: str) -> str:
        return self._find("zone", name)


def config(values: dict[str, Any]) -> PlatformConfig:
    return load(as_pulumi_config(values))


def problems(cfg: PlatformConfig, cloud: CloudLookup) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        look_up(cfg, cloud)
    return caught.value.problems


def test_what_is_found_is_handed_on_as_ids() -> None:
    cloud = FakeCloud()
    facts = look_up(config(LAB), cloud)
    assert facts.external_network_id == "external-public"
    assert facts.image_ids == {"flatcar-stable": "image-flatcar-stable"}
    assert facts.existing_network is None
    assert facts.dns_zone_id is None
    # one image shared by every role is looked up once; so is each flavor
    assert cloud.calls[("image", "flatcar-stable")] == 1
    assert all(count == 1 for count in cloud.calls.values()), cloud.calls


def test_every_missing_name_is_reported_at_once_with_its_key() -> None:
    cfg = config(with_changes(LAB, paas={"flavor": "m1.huge", "dns_zone": "example.com"},
                              access={"ssh_public_key": None, "existing_keypair": "ops"}))
    cloud = FakeCloud(missing={"public", "m1.huge", "flatcar-stable", "ops", "example.com."})
    found = problems(cfg, cloud)
    keys = [line.split(":")[0] for line in found]
    assert keys == ["network.external_network", "bastion.image", "paas.flavor",
                    "access.existing_keypair", "paas.dns_zone"], found
    for line in found:
        head, _, fix = line.partition(" — ")
        assert "not found in the cloud (Your query returned no results" in head, line
        assert fix.strip(), line
    # a missing image is reported once, not once per role that boots it
    assert cloud.calls[("image", "flatcar-stable")] == 1


def test_a_reused_network_is_found_by_name_and_its_cidr_read() -> None:
    cfg = config(with_changes(LAB, network={
        "cidr": None, "existing": {"network": "shared", "subnet": "shared-v4"}}))
    facts = look_up(cfg, FakeCloud())
    assert facts.existing_network is not None
    assert facts.existing_network.network_id == "network-shared"
    assert facts.existing_network.subnet_cidr == "10.60.0.0/24"
    assert facts.existing_network.router_id == ""


def test_a_missing_reused_subnet_names_its_key() -> None:
    cfg = config(with_changes(LAB, network={
        "cidr": None, "existing": {"network": "shared", "subnet": "gone", "router": "r1"}}))
    found = problems(cfg, FakeCloud(missing={"gone"}))
    assert [line.split(":")[0] for line in found] == ["network.existing.subnet"], found
