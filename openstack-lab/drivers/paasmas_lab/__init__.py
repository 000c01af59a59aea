"""Drivers that let OpenStack's own services run on one machine with no data plane.

Loaded by neutron-server and octavia-worker of the local cloud (openstack-lab), never by the
Pulumi program.
"""
