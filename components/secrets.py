"""Generated secrets: passwords from pulumi_random, a CA and node certificates from pulumi_tls.

Nothing secret is ever typed into config or git; everything here is secret in state and outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_random as random
import pulumi_tls as tls

# Certificates live long: rotating them means re-rendering user data (see README "Operations").
CERT_VALIDITY_HOURS = 5 * 365 * 24
SERVER_AND_CLIENT_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"]
CLIENT_USES = ["digital_signature", "key_encipherment", "client_auth"]


def _password(name: str, parent: pulumi.Resource, length: int = 32) -> pulumi.Output[str]:
    # No special characters: these values go into shell env files, YAML and MySQL statements.
    password = random.RandomPassword(name, length=length, special=False,
                                     opts=pulumi.ResourceOptions(parent=parent))
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

        ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256",
                                opts=pulumi.ResourceOptions(parent=self))
        ca_cert = tls.SelfSignedCert(
            f"{name}-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            validity_period_hours=CERT_VALIDITY_HOURS,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            subject=tls.SelfSignedCertSubjectArgs(common_name=f"{name} platform CA",
                                                  organization="PaaSmas"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ca = CertificateAuthority(ca_cert.cert_pem,
                                       pulumi.Output.secret(ca_key.private_key_pem))
        self.register_outputs({"ca_cert_pem": ca_cert.cert_pem})

    def issue(self, name: str, common_name: str, *, ip_addresses: Sequence[pulumi.Input[str]] = (),
              dns_names: Sequence[str] = (), server: bool = True,
              parent: pulumi.Resource | None = None) -> IssuedCertificate:
        """A key and a certificate signed by the platform CA, children of `parent`."""
        opts = pulumi.ResourceOptions(parent=parent or self)
        key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
        request = tls.CertRequest(
            f"{name}-csr",
            private_key_pem=key.private_key_pem,
            ip_addresses=list(ip_addresses),
            dns_names=list(dns_names),
            subject=tls.CertRequestSubjectArgs(common_name=common_name, organization="PaaSmas"),
            opts=opts,
        )
        cert = tls.LocallySignedCert(
            f"{name}-cert",
            cert_request_pem=request.cert_request_pem,
            ca_cert_pem=self.ca.cert_pem,
            ca_private_key_pem=self.ca.key_pem,
            validity_period_hours=CERT_VALIDITY_HOURS,
            allowed_uses=SERVER_AND_CLIENT_USES if server else CLIENT_USES,
            opts=opts,
        )
        return IssuedCertificate(cert.cert_pem, pulumi.Output.secret(key.private_key_pem))
