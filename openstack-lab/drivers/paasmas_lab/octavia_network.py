"""An Octavia network driver: real Neutron for the VIP, no-op for the (fake) amphora.

With Octavia's no-op network driver a load balancer gets a made-up VIP address and a VIP port id
that Neutron has never heard of, so a floating IP on the VIP or the VIP security group cannot be
exercised. This driver keeps the real allowed-address-pairs driver for everything that concerns
the VIP (allocate, security group, update, deallocate: real Neutron calls in the load balancer's
project) and hands everything that plumbs an amphora (which, with the no-op compute and amphora
drivers, does not exist) to the no-op driver.
"""

from collections.abc import Callable
from typing import Any

from octavia.network import base
from octavia.network.drivers.neutron.allowed_address_pairs import AllowedAddressPairsDriver
from octavia.network.drivers.noop_driver.driver import NoopNetworkDriver

# Calls that plug, unplug or inspect the amphora's own ports and networks.
AMPHORA_PLUMBING = (
    "plug_aap_port",
    "unplug_aap_port",
    "unplug_vip",
    "plug_network",
    "unplug_network",
    "get_plugged_networks",
    "get_network_configs",
    "wait_for_port_detach",
    "failover_preparation",
    "plug_port",
    "plug_fixed_ip",
    "unplug_fixed_ip",
    "set_port_admin_state_up",
)


def _to_noop(name: str) -> Callable[..., Any]:
    def call(self: "LabNetworkDriver", *args: Any, **kwargs: Any) -> Any:
        return getattr(self.noop, name)(*args, **kwargs)

    call.__name__ = name
    call.__doc__ = f"Amphora plumbing: {name} is a no-op in the lab."
    return call


class LabNetworkDriver(AllowedAddressPairsDriver):  # type: ignore[misc]
    """AllowedAddressPairsDriver for VIPs, no-op for amphorae."""

    def __init__(self) -> None:
        super().__init__()
        self.noop = NoopNetworkDriver()

    # Look-ups: real Neutron first; the fake amphora's own port, network and subnet exist only in
    # the no-op driver's imagination.
    def get_port(self, port_id: str, context: Any = None) -> Any:
        try:
            return super().get_port(port_id, context=context)
        except base.PortNotFound:
            return self.noop.get_port(port_id)

    def get_network(self, network_id: str, context: Any = None) -> Any:
        try:
            return super().get_network(network_id, context=context)
        except base.NetworkNotFound:
            return self.noop.get_network(network_id)

    def get_subnet(self, subnet_id: str, context: Any = None) -> Any:
        try:
            return super().get_subnet(subnet_id, context=context)
        except base.SubnetNotFound:
            return self.noop.get_subnet(subnet_id)


for _name in AMPHORA_PLUMBING:
    setattr(LabNetworkDriver, _name, _to_noop(_name))
