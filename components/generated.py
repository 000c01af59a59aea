"""Generated secrets as resources: passwords and an X.509 CA with the certificates it signs.

Why not pulumi_random / pulumi_tls: their provider plugins cannot be built on the machines this
project must run on (their Go modules are not served; docs/toolchain.md), and a program that
cannot run is worth nothing. These resources run in Pulumi's own Python dynamic-provider host
(`pulumi-resource-pulumi-python`, part of the SDK), generate values once at create time with the
OS's CSPRNG and the `cryptography` package, keep them in state as secrets, and are replaced
(never silently regenerated) only when their inputs change.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import string
import uuid
from typing import Any

import pulumi
import pulumi.dynamic

PASSWORD_ALPHABET = string.ascii_letters + string.digits


def _secret_opts(opts: pulumi.ResourceOptions | None, *outputs: str) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(additional_secret_outputs=list(outputs)))


class _ReplaceOnAnyChange(pulumi.dynamic.ResourceProvider):
    """Generated material is immutable: a changed input means a new resource."""

    INPUTS: tuple[str, ...] = ()

    def diff(self, _id: str, olds: dict[str, Any],
             news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        changed = sorted(k for k in self.INPUTS if olds.get(k) != news.get(k))
        return pulumi.dynamic.DiffResult(changes=bool(changed), replaces=changed,
                                         delete_before_replace=False)


# ---------------------------------------------------------------------------------------------
# Passwords


def generate_password(length: int) -> str:
    """Letters and digits only: the values go into shell env files, YAML and SQL."""
    if length < 16:
        raise ValueError("passwords shorter than 16 characters are too weak")
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))


class _PasswordProvider(_ReplaceOnAnyChange):
    INPUTS = ("length",)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        length = int(props["length"])
        return pulumi.dynamic.CreateResult(
            id_=uuid.uuid4().hex, outs={"length": length, "result": generate_password(length)})


class GeneratedPassword(pulumi.dynamic.Resource):
    result: pulumi.Output[str]

    def __init__(self, name: str, *, length: int = 32,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(_PasswordProvider(), name, {"length": length, "result": None},
                         _secret_opts(opts, "result"))


# ---------------------------------------------------------------------------------------------
# X.509: an ECDSA P-256 CA, and certificates it signs (each with its own key)


def _new_key_pem() -> tuple[Any, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return key, pem


def _name(common_name: str, organization: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity(hours: int) -> tuple[datetime.datetime, datetime.datetime]:
    # Backdated a little: nodes whose clocks lag must not see a certificate "from the future".
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    return start, start + datetime.timedelta(hours=hours)


def generate_ca(common_name: str, organization: str, validity_hours: int) -> tuple[str, str]:
    """A self-signed CA certificate and its key, both PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    key, key_pem = _new_key_pem()
    not_before, not_after = _validity(validity_hours)
    subject = _name(common_name, organization)
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def generate_certificate(ca_cert_pem: str, ca_key_pem: str, *, common_name: str,
                         organization: str, ip_addresses: list[str], dns_names: list[str],
                         server: bool, validity_hours: int) -> tuple[str, str]:
    """A certificate signed by the CA (client auth; server auth too if `server`) and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem.encode())
    ca_key = serialization.load_pem_private_key(ca_key_pem.encode(), password=None)
    key, key_pem = _new_key_pem()
    not_before, not_after = _validity(validity_hours)
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH]
                                                  if server else [])
    builder = (x509.CertificateBuilder()
               .subject_name(_name(common_name, organization))
               .issuer_name(ca_cert.subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, key_encipherment=True, key_cert_sign=False,
                   crl_sign=False, content_commitment=False, data_encipherment=False,
                   key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca_cert.public_key()), critical=False))  # type: ignore[arg-type]
    names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(a))
                                     for a in ip_addresses]
    names += [x509.DNSName(d) for d in dns_names]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


class _CertificateAuthorityProvider(_ReplaceOnAnyChange):
    INPUTS = ("common_name", "organization", "validity_hours")

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        cert, key = generate_ca(props["common_name"], props["organization"],
                                int(props["validity_hours"]))
        return pulumi.dynamic.CreateResult(
            id_=uuid.uuid4().hex,
            outs={**{k: props[k] for k in self.INPUTS}, "cert_pem": cert, "key_pem": key})


class GeneratedCertificateAuthority(pulumi.dynamic.Resource):
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]

    def __init__(self, name: str, *, common_name: str, organization: str, validity_hours: int,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(_CertificateAuthorityProvider(), name,
                         {"common_name": common_name, "organization": organization,
                          "validity_hours": validity_hours, "cert_pem": None, "key_pem": None},
                         _secret_opts(opts, "key_pem"))


class _CertificateProvider(_ReplaceOnAnyChange):
    INPUTS = ("ca_cert_pem", "ca_key_pem", "common_name", "organization", "ip_addresses",
              "dns_names", "server", "validity_hours")

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        cert, key = generate_certificate(
            props["ca_cert_pem"], props["ca_key_pem"], common_name=props["common_name"],
            organization=props["organization"], ip_addresses=list(props["ip_addresses"]),
            dns_names=list(props["dns_names"]), server=bool(props["server"]),
            validity_hours=int(props["validity_hours"]))
        return pulumi.dynamic.CreateResult(
            id_=uuid.uuid4().hex,
            outs={**{k: props[k] for k in self.INPUTS}, "cert_pem": cert, "key_pem": key})


class GeneratedCertificate(pulumi.dynamic.Resource):
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]

    def __init__(self, name: str, *, ca_cert_pem: pulumi.Input[str],
                 ca_key_pem: pulumi.Input[str], common_name: str, organization: str,
                 ip_addresses: pulumi.Input[list[str]], dns_names: list[str], server: bool,
                 validity_hours: int, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(_CertificateProvider(), name,
                         {"ca_cert_pem": ca_cert_pem, "ca_key_pem": ca_key_pem,
                          "common_name": common_name, "organization": organization,
                          "ip_addresses": ip_addresses, "dns_names": dns_names,
                          "server": server, "validity_hours": validity_hours,
                          "cert_pem": None, "key_pem": None},
                         _secret_opts(opts, "key_pem"))
