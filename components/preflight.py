"""Before anything is declared: every name the stack config refers to must exist in the cloud.

The external network, each role's flavor and image, a reused keypair, network, subnet or router,
and the Designate zone are looked up once, up front. What is missing is reported like a config
problem (`key: what is wrong — how to fix it`, all at once), so a typo in an image name stops
the run before a single resource exists. What is found is handed to the components as IDs.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Protocol, TypeVar

import pulumi_openstack as openstack

from components.config import ConfigError, PlatformConfig
from components.roles import ROLES

T = TypeVar("T")


class CloudLookup(Protocol):
    """Finds one named thing in the cloud; raises (any exception) when it is not there."""

    def external_network(self, name: str) -> str: ...
    def image(self, name: str) -> str: ...
    def flavor(self, name: str) -> str: ...
    def keypair(self, name: str) -> str: ...
    def network(self, name_or_id: str) -> str: ...
    def subnet(self, name_or_id: str) -> tuple[str, str]: ...  # id, CIDR
    def router(self, name_or_id: str) -> str: ...
    def dns_zone(self, name: str) -> str: ...


@dataclass(frozen=True)
class ExistingNetworkIds:
    network_id: str
    subnet_id: str
    subnet_cidr: str
    router_id: str  # "" when no router is named


@dataclass(frozen=True)
class CloudFacts:
    external_network_id: str
    image_ids: Mapping[str, str]  # image name -> ID, for every image a role boots from
    existing_network: ExistingNetworkIds | None
    dns_zone_id: str | None


def reused_subnet_overlaps(subnet_cidr: str, cfg: PlatformConfig) -> list[str]:
    """A reused subnet must not overlap the pod or service range (the loader checks a subnet
    the stack creates; a reused one is known only now): node, pod and service traffic would not
    be told apart."""
    subnet = ipaddress.ip_network(subnet_cidr, strict=False)
    return [f"network.existing.subnet: its range {subnet} overlaps paas.{key} ({cidr}) — pick "
            f"another paas.{key} that does not overlap it"
            for key, cidr in (("cluster_cidr", cfg.paas.cluster_cidr),
                              ("service_cidr", cfg.paas.service_cidr))
            if subnet.overlaps(cidr)]


def look_up(cfg: PlatformConfig, cloud: CloudLookup) -> CloudFacts:
    """Every referenced name, found; or ConfigError listing each one that is not."""
    problems: list[str] = []

    def find(key: str, what: str, fix: str, lookup: Callable[[], T]) -> T | None:
        try:
            return lookup()
        except Exception as error:  # the provider says why: not found, several, no service
            problems.append(f"{key}: {what} not found in the cloud ({_reason(error)}) — {fix}")
            return None

    net = cfg.network
    external = find("network.external_network", f"external network {net.external_network!r}",
                    "name one from `openstack network list --external`",
                    lambda: cloud.external_network(net.external_network))

    image_ids: dict[str, str] = {}
    seen_flavors: set[str] = set()
    seen_images: set[str] = set()
    for role, node in cfg.node_roles().items():
        section = ROLES[role].config_key
        if node.flavor not in seen_flavors:
            seen_flavors.add(node.flavor)
            find(f"{section}.flavor", f"flavor {node.flavor!r}",
                 "name one from `openstack flavor list`",
                 partial(cloud.flavor, node.flavor))
        if node.image not in seen_images:
            seen_images.add(node.image)
            found = find(f"{section}.image", f"image {node.image!r}",
                         "upload it or name one from `openstack image list` (roles inherit "
                         "the top-level `image` unless they set their own)",
                         partial(cloud.image, node.image))
            if found is not None:
                image_ids[node.image] = found

    if cfg.access.existing_keypair is not None:
        name = cfg.access.existing_keypair
        find("access.existing_keypair", f"keypair {name!r}",
             "name one from `openstack keypair list`, or give `ssh_public_key` instead",
             lambda: cloud.keypair(name))

    existing: ExistingNetworkIds | None = None
    if net.existing is not None:
        reused = net.existing
        network_id = find("network.existing.network", f"network {reused.network!r}",
                          "name one from `openstack network list` (or its ID)",
                          lambda: cloud.network(reused.network))
        subnet = find("network.existing.subnet", f"subnet {reused.subnet!r}",
                      "name one from `openstack subnet list` (or its ID)",
                      lambda: cloud.subnet(reused.subnet))
        router_id: str | None = ""
        if reused.router is not None:
            router_name = reused.router
            router_id = find("network.existing.router", f"router {router_name!r}",
                             "name one from `openstack router list` (or its ID), or leave it "
                             "out", lambda: cloud.router(router_name))
        if network_id is not None and subnet is not None and router_id is not None:
            existing = ExistingNetworkIds(network_id, subnet[0], subnet[1], router_id)
        if subnet is not None:
            problems += reused_subnet_overlaps(subnet[1], cfg)

    zone_id: str | None = None
    if cfg.paas.dns_zone is not None:
        zone = cfg.paas.dns_zone
        zone_id = find("paas.dns_zone", f"DNS zone {zone!r}",
                       "create the zone in this project (`openstack zone create`), ask the "
                       "cloud's operator to share one, or leave `dns_zone` unset for an "
                       "sslip.io domain", lambda: cloud.dns_zone(zone))

    if problems:
        raise ConfigError(problems)
    assert external is not None
    return CloudFacts(external, image_ids, existing, zone_id)


def _reason(error: Exception) -> str:
    """The provider's own words, on one line and short."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[-1] if lines else type(error).__name__
    return text if len(text) <= 160 else f"{text[:157]}..."


def _by_id_or_name(value: str) -> dict[str, str]:
    """Keyword for a lookup that accepts either: an ID when the value is a UUID."""
    try:
        uuid.UUID(value)
    except ValueError:
        return {"name": value}
    return {"id": value}


class PulumiCloudLookup:
    """Lookups through the OpenStack provider's data sources (plain invokes: they run before
    anything is declared, in preview as in up)."""

    def external_network(self, name: str) -> str:
        return openstack.networking.get_network(name=name, external=True).id

    def image(self, name: str) -> str:
        return openstack.images.get_image(name=name, most_recent=True).id

    def flavor(self, name: str) -> str:
        return openstack.compute.get_flavor(name=name).id

    def keypair(self, name: str) -> str:
        return openstack.compute.get_keypair(name=name).name

    def network(self, name_or_id: str) -> str:
        key = _by_id_or_name(name_or_id)
        return openstack.networking.get_network(
            network_id=key.get("id"), name=key.get("name")).id

    def subnet(self, name_or_id: str) -> tuple[str, str]:
        key = _by_id_or_name(name_or_id)
        found = openstack.networking.get_subnet(subnet_id=key.get("id"), name=key.get("name"))
        return found.id, found.cidr

    def router(self, name_or_id: str) -> str:
        key = _by_id_or_name(name_or_id)
        return openstack.networking.get_router(router_id=key.get("id"), name=key.get("name")).id

    def dns_zone(self, name: str) -> str:
        return openstack.dns.get_dns_zone(name=name).id
