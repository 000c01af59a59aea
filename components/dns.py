"""PlatformDns: the platform domain's A records in a Designate zone the project already holds.

Zones are delegated by the cloud's operator, so the stack only adds (and on destroy removes) its
own records, in the zone found before anything was declared (components/preflight.py): the
domain and its wildcard, both at the PaaS load balancer's floating IP.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from components.planning import platform_dns_records


@dataclass(frozen=True)
class PlatformDnsArgs:
    zone_id: str
    domain: str  # inside the zone (config checks)
    address: pulumi.Input[str]
    ttl: int


class PlatformDns(pulumi.ComponentResource):
    records: dict[str, openstack.dns.RecordSet]

    def __init__(self, name: str, args: PlatformDnsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasmas:index:PlatformDns", name, None, opts)
        self.records = {
            key: openstack.dns.RecordSet(
                f"{name}-{key}", zone_id=args.zone_id, name=record, type="A", ttl=args.ttl,
                records=[args.address], description="PaaSmas platform domain",
                opts=pulumi.ResourceOptions(parent=self))
            for key, record in platform_dns_records(args.domain).items()
        }
        self.register_outputs({key: r.name for key, r in self.records.items()})
