"""Generated secrets: passwords, a platform CA and the node certificates it signs.

Nothing secret is ever typed into config or git; everything here is secret in state and outputs.
The values come from `components/generated.py` (why not pulumi_random / pulumi_tls: see there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.generated import (
    GeneratedCertificate,
    GeneratedCertificateAuthority,
    GeneratedPassword,
)

# Certificates live long: rotating them means re-rendering user data (see README "Operations").
CERT_VALIDITY_HOURS = 5 * 365 * 24
ORGANIZATION = "PaaSmas"


def _password(name: str, parent: pulumi.Resource, length: int = 32) -> pulumi.Output[str]:
    password = GeneratedPassword(name, length=length, opts=pulumi.ResourceOptions(parent=parent))
    return pulumi.Output.secret(password.result)


@dataclass(frozen=True)
class CertificateAuthority:
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]


@dataclass(frozen=True)
class IssuedCertificate:
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]


class PlatformSecrets(pulumi.ComponentResource):
    """Every generated credential of the platform, and the CA that signs its certificates."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasmas:index:PlatformSecrets", name, None, opts)
        self.database_root_password = _password(f"{name}-db-root", self)
        self.database_sst_password = _password(f"{name}-db-sst", self)
        self.database_clustercheck_password = _password(f"{name}-db-clustercheck", self)
        self.database_app_password = _password(f"{name}-db-app", self)
        self.database_admin_password = _password(f"{name}-db-admin", self)
        self.jenkins_admin_password = _password(f"{name}-jenkins-admin", self)
        self.paas_admin_password = _password(f"{name}-paas-admin", self)
        self.k3s_token = _password(f"{name}-k3s-token", self, length=48)
        # The in-cluster OpenStack cloud controller's application credential secret.
        self.cloud_controller_secret = _password(f"{name}-ccm-secret", self, length=48)

        ca = GeneratedCertificateAuthority(
            f"{name}-ca", common_name=f"{name} platform CA", organization=ORGANIZATION,
            validity_hours=CERT_VALIDITY_HOURS, opts=pulumi.ResourceOptions(parent=self))
        self.ca = CertificateAuthority(ca.cert_pem, pulumi.Output.secret(ca.key_pem))
        self.register_outputs({"ca_cert_pem": ca.cert_pem})

    def issue(self, name: str, common_name: str, *, ip_addresses: Sequence[pulumi.Input[str]] = (),
              dns_names: Sequence[str] = (), server: bool = True,
              parent: pulumi.Resource | None = None) -> IssuedCertificate:
        """A key and a certificate signed by the platform CA, children of `parent`."""
        cert = GeneratedCertificate(
            f"{name}-cert", ca_cert_pem=self.ca.cert_pem, ca_key_pem=self.ca.key_pem,
            common_name=common_name, organization=ORGANIZATION,
            ip_addresses=pulumi.Output.all(*ip_addresses), dns_names=list(dns_names),
            server=server, validity_hours=CERT_VALIDITY_HOURS,
            opts=pulumi.ResourceOptions(parent=parent or self))
        return IssuedCertificate(cert.cert_pem, pulumi.Output.secret(cert.key_pem))
