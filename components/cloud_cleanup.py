"""Load balancers the cluster creates itself must not outlive the stack.

openstack-cloud-controller-manager gives each app's LoadBalancer Service an Octavia load balancer
(and a floating IP) named `kube_service_<cluster>_<namespace>_<service>`. Those are outside
Pulumi's state, and they hold ports in the tenant subnet, so `pulumi destroy` would fail to delete
the subnet. `ClusterLoadBalancerCleanup` is a resource whose deletion removes them; it is created
after the subnet and before the PaaS nodes, so on destroy it runs after the nodes are gone and
before the network goes.
"""

from __future__ import annotations

import time
from typing import Any

import pulumi
import pulumi.dynamic

DELETE_TIMEOUT_S = 600


def delete_cluster_load_balancers(conn: Any, name_prefix: str,
                                  timeout_s: float = DELETE_TIMEOUT_S) -> list[str]:
    """Delete every load balancer named `name_prefix*` and the floating IPs on their VIPs;
    wait until they are gone. Returns the names deleted."""
    doomed = [lb for lb in conn.load_balancer.load_balancers()
              if (lb.name or "").startswith(name_prefix)]
    for lb in doomed:
        for fip in conn.network.ips(port_id=lb.vip_port_id):
            conn.network.delete_ip(fip)
        conn.load_balancer.delete_load_balancer(lb, cascade=True, ignore_missing=True)
    deadline = time.monotonic() + timeout_s
    remaining = {lb.id for lb in doomed}
    while remaining:
        present = {lb.id for lb in conn.load_balancer.load_balancers()}
        remaining &= present
        if not remaining:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"load balancers still present after {timeout_s:.0f} s: "
                               f"{sorted(remaining)}")
        time.sleep(2)
    return [lb.name for lb in doomed]


class _Provider(pulumi.dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult(id_=f"{props['name_prefix']}cleanup", outs=props)

    def update(self, _id: str, _olds: dict[str, Any],
               news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        import openstack  # openstacksdk, imported where the provider runs

        cloud = props.get("cloud") or None
        conn = openstack.connect(cloud=cloud) if cloud else openstack.connect()
        deleted = delete_cluster_load_balancers(conn, props["name_prefix"])
        if deleted:
            pulumi.log.info(f"deleted load balancers the cluster created: {', '.join(deleted)}")


class ClusterLoadBalancerCleanup(pulumi.dynamic.Resource):
    name_prefix: pulumi.Output[str]

    def __init__(self, name: str, *, name_prefix: str, cloud: str | None,
                 subnet_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        # subnet_id ties the resource to the subnet, so destroy deletes it before the subnet.
        super().__init__(_Provider(), name,
                         {"name_prefix": name_prefix, "cloud": cloud or "",
                          "subnet_id": subnet_id}, opts)
