"""The output contract: names of the stack outputs the pipeline and the host checks read.

Defined once here; `__main__.py` exports them, tests and tools import them.
"""

PAAS_DOMAIN = "paas_domain"
PAAS_CONTROLLER_URL = "paas_controller_url"
PAAS_BUILDER_REMOTE = "paas_builder_remote"
PAAS_LB_ADDRESS = "paas_lb_address"
JENKINS_URL = "jenkins_url"
DATABASE_HOST = "database_host"
DATABASE_PORT = "database_port"
DATABASE_NAME = "database_name"
DATABASE_USER = "database_user"
DATABASE_PASSWORD = "database_password"  # secret
ETCD_ENDPOINTS = "etcd_endpoints"
BASTION_ADDRESS = "bastion_address"
SSH_USER = "ssh_user"
NODE_IPS = "node_ips"  # {role: [private IP, ...]}
NETWORK_ID = "network_id"
SUBNET_ID = "subnet_id"
ROUTER_ID = "router_id"
APP_NAMES = "app_names"  # {"production", "staging", "pull_request_prefix"}

SECRET_OUTPUTS = frozenset({DATABASE_PASSWORD})

ALL_OUTPUTS = frozenset({
    PAAS_DOMAIN, PAAS_CONTROLLER_URL, PAAS_BUILDER_REMOTE, PAAS_LB_ADDRESS, JENKINS_URL,
    DATABASE_HOST, DATABASE_PORT, DATABASE_NAME, DATABASE_USER, DATABASE_PASSWORD,
    ETCD_ENDPOINTS, BASTION_ADDRESS, SSH_USER, NODE_IPS, NETWORK_ID, SUBNET_ID, ROUTER_ID,
    APP_NAMES,
})
