"""Generated passwords and certificates are real: checked with `cryptography`, not by shape."""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from components.generated import (
    PASSWORD_ALPHABET,
    _CertificateProvider,
    _PasswordProvider,
    generate_ca,
    generate_certificate,
    generate_password,
)
from tests.unit.harness import run_program, stack_values

pytestmark = pytest.mark.unit


def test_passwords_are_long_random_and_shell_safe() -> None:
    values = {generate_password(32) for _ in range(50)}
    assert len(values) == 50
    assert all(len(v) == 32 and set(v) <= set(PASSWORD_ALPHABET) for v in values)
    with pytest.raises(ValueError):
        generate_password(8)


def test_certificate_chains_to_the_ca_with_the_right_names_and_uses() -> None:
    ca_pem, ca_key = generate_ca("test CA", "PaaSmas", 24)
    cert_pem, key_pem = generate_certificate(
        ca_pem, ca_key, common_name="paas-0", organization="PaaSmas",
        ip_addresses=["10.20.0.20", "127.0.0.1"], dns_names=["paas-0"], server=True,
        validity_hours=24)
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.20.0.20"),
                                                       ipaddress.ip_address("127.0.0.1")]
    assert san.get_values_for_type(x509.DNSName) == ["paas-0"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert "PRIVATE KEY" in key_pem and cert.not_valid_after_utc > cert.not_valid_before_utc


def test_client_certificates_cannot_serve() -> None:
    ca_pem, ca_key = generate_ca("test CA", "PaaSmas", 24)
    cert_pem, _ = generate_certificate(ca_pem, ca_key, common_name="db", organization="P",
                                       ip_addresses=[], dns_names=[], server=False,
                                       validity_hours=24)
    eku = x509.load_pem_x509_certificate(cert_pem.encode()).extensions.get_extension_for_class(
        x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_generated_values_are_replaced_only_when_inputs_change() -> None:
    provider = _PasswordProvider()
    same = provider.diff("id", {"length": 32, "result": "x"}, {"length": 32, "result": None})
    assert same.changes is False
    longer = provider.diff("id", {"length": 32, "result": "x"}, {"length": 48, "result": None})
    assert longer.changes is True and longer.replaces == ["length"]
    moved = _CertificateProvider().diff(
        "id", {"ip_addresses": ["10.0.0.1"], "cert_pem": "c"}, {"ip_addresses": ["10.0.0.2"]})
    assert "ip_addresses" in (moved.replaces or [])


def test_the_nodes_certificates_verify_against_the_ca_they_are_given() -> None:
    run = run_program(stack_values("lab"))
    dynamic = {r.name: r for r in run.mocks.resources
               if r.type == "pulumi-python:dynamic:Resource"}
    assert dynamic["paasmas-paas-etcd-0-cert"].inputs["ip_addresses"] == ["10.20.0.20",
                                                                          "127.0.0.1"]
    assert "ca_key_pem" in dynamic["paasmas-paas-etcd-0-cert"].secret_inputs
    assert len([r for r in dynamic.values() if "length" in r.inputs]) == 9  # passwords
    paas0 = next(r for r in run.mocks.of_type("compute/instance:Instance")
                 if r.inputs["name"] == "paasmas-unit-paas-0")
    certs = [x509.load_pem_x509_certificate(block.encode())
             for block in _pem_blocks(paas0.inputs["userData"], "CERTIFICATE")]
    (ca,) = [c for c in certs
             if c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca]
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    members = [c for c in certs if c is not ca]
    assert members
    for cert in members:
        cert.verify_directly_issued_by(ca)
    sans = {ip for c in members for ip in c.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)}
    assert ipaddress.ip_address("10.20.0.20") in sans


def _pem_blocks(text: str, kind: str) -> list[str]:
    import re

    pattern = rf"-----BEGIN {kind}-----[A-Za-z0-9+/=\s]+?-----END {kind}-----"
    return [re.sub(r"\n\s+", "\n", m) for m in re.findall(pattern, text)]
