"""An ML2 mechanism driver that binds every port.

The local cloud runs no L2 agent, so no shipped mechanism driver would bind a port and Nova would
refuse to boot servers on them. This one binds each port on the first segment it is offered, the
way the Open vSwitch driver would once its agent had reported in. Nothing is wired: the lab has no
data plane, only the API-level behaviour (ports ACTIVE, bound to the compute host).
"""

from typing import Any

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api


class BindAllMechanismDriver(api.MechanismDriver):  # type: ignore[misc]
    """Bind every port to its first segment, as an OVS port, ACTIVE."""

    def initialize(self) -> None:
        """Nothing to set up: there is no agent to talk to."""

    @property
    def connectivity(self) -> str:
        return str(portbindings.CONNECTIVITY_L2)

    def bind_port(self, context: Any) -> None:
        for segment in context.segments_to_bind:
            context.set_binding(
                segment[api.ID],
                portbindings.VIF_TYPE_OVS,
                {portbindings.CAP_PORT_FILTER: True, portbindings.OVS_HYBRID_PLUG: False},
                status=constants.PORT_STATUS_ACTIVE,
            )
            return
