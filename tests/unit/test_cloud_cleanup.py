"""What `pulumi destroy` removes of the load balancers the cluster created (logic only; the
local cloud's integration test runs it against real Octavia and Neutron)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from components.cloud_cleanup import delete_cluster_load_balancers
from components.planning import identity_endpoint

pytestmark = pytest.mark.unit


@dataclass
class FakeLoadBalancer:
    id: str
    name: str
    vip_port_id: str


@dataclass
class FakeFloatingIp:
    id: str
    port_id: str


@dataclass
class FakeCloud:
    """The two openstacksdk proxies the cleanup uses, keeping state like the cloud does."""

    lbs: list[FakeLoadBalancer]
    fips: list[FakeFloatingIp]
    deleted_with_cascade: list[str] = field(default_factory=list)

    @property
    def load_balancer(self) -> FakeCloud:
        return self

    @property
    def network(self) -> FakeCloud:
        return self

    def load_balancers(self) -> list[FakeLoadBalancer]:
        return list(self.lbs)

    def delete_load_balancer(self, lb: FakeLoadBalancer, cascade: bool,
                             ignore_missing: bool) -> None:
        assert cascade and ignore_missing
        self.deleted_with_cascade.append(lb.name)
        self.lbs.remove(lb)

    def ips(self, port_id: str) -> list[FakeFloatingIp]:
        return [f for f in self.fips if f.port_id == port_id]

    def delete_ip(self, fip: FakeFloatingIp) -> None:
        self.fips.remove(fip)


def test_only_the_clusters_load_balancers_and_their_floating_ips_go() -> None:
    cloud = FakeCloud(
        lbs=[FakeLoadBalancer("1", "kube_service_p-lab_default_web", "port-1"),
             FakeLoadBalancer("2", "p-lab-paas", "port-2"),
             FakeLoadBalancer("3", "kube_service_p-other_default_web", "port-3")],
        fips=[FakeFloatingIp("f1", "port-1"), FakeFloatingIp("f2", "port-2")])
    deleted = delete_cluster_load_balancers(cloud, "kube_service_p-lab_")
    assert deleted == ["kube_service_p-lab_default_web"]
    assert [lb.name for lb in cloud.lbs] == ["p-lab-paas", "kube_service_p-other_default_web"]
    assert [f.id for f in cloud.fips] == ["f2"]


def test_nothing_to_delete_is_not_an_error() -> None:
    cloud = FakeCloud(lbs=[], fips=[])
    assert delete_cluster_load_balancers(cloud, "kube_service_p-lab_") == []


def test_a_load_balancer_that_does_not_go_away_times_out() -> None:
    class Stuck(FakeCloud):
        def delete_load_balancer(self, lb: FakeLoadBalancer, cascade: bool,
                                 ignore_missing: bool) -> None:
            pass  # the cloud accepts the request but the load balancer stays

    cloud = Stuck(lbs=[FakeLoadBalancer("1", "kube_service_p_x", "p")], fips=[])
    with pytest.raises(TimeoutError, match="still present"):
        delete_cluster_load_balancers(cloud, "kube_service_p_", timeout_s=0)


CATALOG: list[dict[str, Any]] = [
    {"type": "compute", "endpoints": [{"interface": "public", "url": "http://nova"}]},
    {"type": "identity", "endpoints": [
        {"interface": "admin", "region": "RegionOne", "url": "http://admin:5000"},
        {"interface": "public", "region": "RegionTwo", "url": "https://two:5000/v3"},
        {"interface": "public", "region": "RegionOne", "url": "https://one:5000/"},
    ]},
]


def test_identity_endpoint_is_the_public_one_of_the_region() -> None:
    assert identity_endpoint(CATALOG, "RegionOne") == "https://one:5000/v3"
    assert identity_endpoint(CATALOG, "RegionTwo") == "https://two:5000/v3"


def test_identity_endpoint_missing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no public identity endpoint"):
        identity_endpoint(CATALOG[:1], "RegionOne")
