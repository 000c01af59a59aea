"""Stack configuration: the one place that reads Pulumi config.

`load(raw)` is pure: it takes the stack's `paasmas:*` values (strings or JSON, as Pulumi stores
them), checks every rule, and returns immutable typed objects, or raises `ConfigError` listing
**every** problem, one line each: `dotted.key: what is wrong — how to fix it`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

from components.roles import ROLES, Role

NAMESPACE = "paasmas"
CLOUD_KEY = "openstack:cloud"

StrEnumT = TypeVar("StrEnumT", bound=StrEnum)



class ConfigError(Exception):
    """Every problem found in a stack's configuration, one `key: problem — fix` per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"stack configuration has {len(problems)} problem(s):\n"
            + "\n".join(f"  {p}" for p in problems)
        )


class ServerGroupPolicy(StrEnum):
    SOFT_ANTI_AFFINITY = "soft-anti-affinity"
    ANTI_AFFINITY = "anti-affinity"
    SOFT_AFFINITY = "soft-affinity"
    AFFINITY = "affinity"


class DatabaseLoadBalancerMode(StrEnum):
    OCTAVIA = "octavia"
    HAPROXY = "haproxy"


@dataclass(frozen=True)
class ExistingNetwork:
    """Reuse a network the cloud already has; each value is a name or an ID."""

    network: str
    subnet: str
    router: str | None


@dataclass(frozen=True)
class NetworkConfig:
    external_network: str
    cidr: ipaddress.IPv4Network | None
    existing: ExistingNetwork | None
    dns_servers: tuple[str, ...]
    mtu: int | None


@dataclass(frozen=True)
class AccessConfig:
    ssh_user: str
    ssh_public_key: str | None
    existing_keypair: str | None
    ssh_allowed_cidrs: tuple[str, ...]


@dataclass(frozen=True)
class NodeRoleConfig:
    """What every node group has: how many, on what, and how it is reached."""

    size: int
    flavor: str
    image: str
    server_group_policy: ServerGroupPolicy
    boot_volume_size: int | None
    # Addresses of pre-allocated floating IPs to reuse, or "" to allocate one: one per node.
    floating_ips: tuple[str, ...] | None

    @property
    def wants_floating_ips(self) -> bool:
        return self.floating_ips is not None


@dataclass(frozen=True)
class BastionConfig:
    enabled: bool
    node: NodeRoleConfig
    floating_ip: str | None


@dataclass(frozen=True)
class PaasConfig:
    node: NodeRoleConfig
    domain: str | None
    allowed_cidrs: tuple[str, ...]
    admin_username: str
    load_balancer_floating_ip: str | None
    cluster_cidr: ipaddress.IPv4Network
    service_cidr: ipaddress.IPv4Network
    # Octavia provider for the load balancers each app's gateway gets from the cloud controller.
    app_load_balancer_provider: str
    # Designate zone (absolute, trailing dot) that gets the platform's wildcard records.
    dns_zone: str | None = None
    dns_ttl: int = 300


@dataclass(frozen=True)
class JenkinsConfig:
    node: NodeRoleConfig
    data_volume_size: int
    allowed_cidrs: tuple[str, ...]


@dataclass(frozen=True)
class DatabaseLoadBalancerConfig:
    mode: DatabaseLoadBalancerMode
    # HAProxy mode only: the nodes that run HAProxy.
    node: NodeRoleConfig | None


@dataclass(frozen=True)
class DatabaseConfig:
    node: NodeRoleConfig
    data_volume_size: int
    name: str
    user: str
    load_balancer: DatabaseLoadBalancerConfig
    replace_on_user_data_change: bool


# What GitHubRepository.parse accepts in a repository URL's host and path segments.
_URL_HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")
_REPOSITORY_FORM = "https://<host>/<owner>/<repo>[.git]"


@dataclass(frozen=True)
class GitHubRepository:
    """An application repository on GitHub or GitHub Enterprise, from its https URL.

    Jenkins' GitHub branch source needs the host, the owner and the repository name, and scans
    over https with the token of `pipeline.credentials_id`: SSH URLs cannot be used.
    """

    url: str  # https://<host>/<owner>/<name>, without `.git`
    host: str  # host[:port] as written
    owner: str
    name: str

    @classmethod
    def parse(cls, url: str) -> GitHubRepository:
        """The repository of `https://<host>/<owner>/<repo>[.git]`; ValueError says what is off."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 -- raises ValueError for a port that is not a number in range
        except ValueError as error:
            raise ValueError(f"is not a valid URL ({error})") from None
        if parts.scheme != "https":
            raise ValueError(f"is not an https URL of the form {_REPOSITORY_FORM}")
        if parts.username is not None or parts.password is not None:
            # It would be written into the Job DSL seed; the token belongs in a credential.
            raise ValueError("carries a user name or password")
        if not parts.hostname or not _URL_HOST.match(parts.hostname):
            raise ValueError(f"has no valid host: expected {_REPOSITORY_FORM}")
        if parts.query or parts.fragment:
            raise ValueError(f"has a query or fragment: expected {_REPOSITORY_FORM}")
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) != 2 or not all(_PATH_SEGMENT.match(s) for s in segments):
            raise ValueError(f"does not name one repository: expected {_REPOSITORY_FORM}")
        owner, name = segments[0], segments[1].removesuffix(".git")
        if not name:
            raise ValueError(f"has no repository name: expected {_REPOSITORY_FORM}")
        return cls(url=f"https://{parts.netloc}/{owner}/{name}", host=parts.netloc, owner=owner,
                   name=name)


@dataclass(frozen=True)
class PipelineConfig:
    # None: no application repository, so Jenkins gets no seed job and no pipeline settings.
    repository: GitHubRepository | None
    credentials_id: str
    app_name: str
    staging_branch: str
    production_branch: str


@dataclass(frozen=True)
class DownloadsConfig:
    """Where nodes fetch images and binaries: proxies and a registry mirror, all optional."""

    http_proxy: str | None
    https_proxy: str | None
    no_proxy: tuple[str, ...]
    registry_mirror: str | None


@dataclass(frozen=True)
class PlatformConfig:
    network: NetworkConfig
    access: AccessConfig
    availability_zones: tuple[str, ...]
    bastion: BastionConfig
    paas: PaasConfig
    jenkins: JenkinsConfig
    database: DatabaseConfig
    pipeline: PipelineConfig
    downloads: DownloadsConfig = field(
        default_factory=lambda: DownloadsConfig(None, None, (), None)
    )
    # The clouds.yaml entry (`openstack:cloud`); None when credentials come from OS_* variables.
    cloud: str | None = None

    def node_roles(self) -> dict[Role, NodeRoleConfig]:
        """Each role that boots servers in this stack, in the registry's order."""
        nodes: dict[Role, NodeRoleConfig | None] = {
            Role.BASTION: self.bastion.node if self.bastion.enabled else None,
            Role.PAAS: self.paas.node, Role.JENKINS: self.jenkins.node,
            Role.DATABASE: self.database.node, Role.DB_LB: self.database.load_balancer.node}
        return {role: node for role in ROLES if (node := nodes[role]) is not None}


# ---------------------------------------------------------------------------------------------
# A small validating reader: every accessor records problems instead of raising, so one run
# reports everything that is wrong.


class _Section:
    def __init__(self, path: str, data: Mapping[str, Any], problems: list[str]) -> None:
        self.path = path
        self.data = data
        self.problems = problems
        self.read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def problem(self, name: str, what: str, fix: str) -> None:
        self.problems.append(f"{self.key(name)}: {what} — {fix}")

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def _get(self, name: str) -> Any:
        self.read.add(name)
        return self.data.get(name)

    def string(self, name: str, default: str | None = None, *, required: bool = False,
               fix: str = "set it") -> str | None:
        value = self._get(name)
        if value is None:
            if required:
                self.problem(name, "missing", fix)
            return default
        if not isinstance(value, str) or not value.strip():
            self.problem(name, f"expected a non-empty string, got {value!r}", fix)
            return default
        return value.strip()

    def integer(self, name: str, default: int | None = None, *, required: bool = False,
                minimum: int | None = None, maximum: int | None = None) -> int | None:
        value = self._get(name)
        if value is None:
            if required:
                self.problem(name, "missing", "set a whole number")
            return default
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(name, f"expected a whole number, got {value!r}", "write it as e.g. 3")
            return default
        if minimum is not None and value < minimum:
            self.problem(name, f"{value} is below the minimum {minimum}", f"use at least {minimum}")
            return default
        if maximum is not None and value > maximum:
            self.problem(name, f"{value} is above the maximum {maximum}", f"use at most {maximum}")
            return default
        return int(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            self.problem(name, f"expected true or false, got {value!r}", "write true or false")
            return default
        return value

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.problem(name, f"expected a list of strings, got {value!r}",
                         'write a YAML list, e.g. ["a", "b"]')
            return default
        return tuple(v.strip() for v in value)

    def choice(self, name: str, enum: type[StrEnumT], default: StrEnumT) -> StrEnumT:
        value = self._get(name)
        if value is None:
            return default
        allowed = ", ".join(e.value for e in enum)
        try:
            return enum(value)
        except ValueError:
            self.problem(name, f"unknown value {value!r}", f"use one of: {allowed}")
            return default

    def section(self, name: str) -> _Section:
        value = self._get(name)
        if value is None:
            value = {}
        elif not isinstance(value, Mapping):
            self.problem(name, f"expected a mapping of keys, got {value!r}",
                         "write it as a YAML mapping (key: value lines)")
            value = {}
        return _Section(self.key(name), value, self.problems)

    def finish(self, allowed_extra: tuple[str, ...] = ()) -> None:
        """Reject keys nobody read: they are typos or options that do not exist."""
        known = sorted(self.read | set(allowed_extra))
        for name in sorted(set(self.data) - self.read - set(allowed_extra)):
            close = _closest(name, known)
            hint = f"did you mean {self.key(close)!r}?" if close else "remove it"
            self.problem(name, "unknown key", f"{hint} Known keys: {', '.join(known)}")



def _closest(name: str, candidates: list[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


# ---------------------------------------------------------------------------------------------
# Value checks shared by several keys.

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_SSH_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com)"
    r" [A-Za-z0-9+/]+={0,3}( .*)?$"
)
# Internal ranges that clash with cluster traffic if the tenant subnet overlaps them.
_PUBLIC_CIDR_FIX = "use a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)"


def _parse_cidr(s: _Section, name: str, value: str | None,
                *, private: bool) -> ipaddress.IPv4Network | None:
    if value is None:
        return None
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        s.problem(name, f"{value!r} is not a CIDR", "write it like 10.20.0.0/24")
        return None
    if not isinstance(net, ipaddress.IPv4Network):
        s.problem(name, f"{value} is IPv6", "use an IPv4 CIDR (the platform is IPv4 inside)")
        return None
    if str(net) != value and net.with_prefixlen != value:
        s.problem(name, f"{value} has host bits set", f"did you mean {net.with_prefixlen}?")
        return None
    if private and not net.is_private:
        s.problem(name, f"{value} is a public range", _PUBLIC_CIDR_FIX)
        return None
    return net


# More addresses than this in one list is not "the networks that need access": it is (a large
# part of) the internet, however it is split (0.0.0.0/1 + 128.0.0.0/1 is 0.0.0.0/0).
_MAX_RESTRICTED_ADDRESSES = 2 ** 24  # a /8


def _source_cidrs(s: _Section, name: str, *, required: bool, open_allowed: bool,
                  default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """CIDRs that may reach an entry point. IPv4 only (the rules are IPv4 rules). Where the entry
    point is not public, the ranges together must not cover the internet, however written."""
    values = s.strings(name, default)
    if required and not values:
        s.problem(name, "empty", "list the source CIDRs allowed in, e.g. [\"203.0.113.0/24\"]")
    cleaned: list[ipaddress.IPv4Network] = []
    index: dict[ipaddress.IPv4Network, int] = {}  # where each range stands in the list
    for i, value in enumerate(values):
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError:
            s.problem(f"{name}[{i}]", f"{value!r} is not a CIDR (or has host bits set)",
                      "write it like 203.0.113.0/24 or 198.51.100.7/32")
            continue
        if not isinstance(net, ipaddress.IPv4Network):
            s.problem(f"{name}[{i}]", f"{value} is IPv6",
                      "list IPv4 ranges (the platform's security rules are IPv4)")
            continue
        if net in cleaned:
            s.problem(f"{name}[{i}]", f"{value} is listed twice", "list each range once")
            continue
        cleaned.append(net)
        index[net] = i
    if open_allowed:
        return tuple(n.with_prefixlen for n in cleaned)
    fix = ("list the networks that need access (operators' VPN, office, CI), together at "
           "most a /8")
    wide = [(index[n], n) for n in cleaned if n.num_addresses > _MAX_RESTRICTED_ADDRESSES]
    for i, net in wide:
        whole = "the whole internet" if net.prefixlen == 0 else f"{net.num_addresses} addresses"
        s.problem(f"{name}[{i}]", f"{net} opens this port to {whole}", fix)
    covered = sum(n.num_addresses for n in ipaddress.collapse_addresses(cleaned))
    if not wide and covered > _MAX_RESTRICTED_ADDRESSES:
        whole = "the whole internet" if covered == 2 ** 32 else f"{covered} addresses"
        s.problem(name, f"{', '.join(str(n) for n in cleaned)} together open this port to "
                  f"{whole}", fix)
    return tuple(n.with_prefixlen for n in cleaned)


def _check_hostname(s: _Section, name: str, value: str | None) -> None:
    if value is None:
        return
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or not all(_DNS_LABEL.match(label) for label in labels) or len(labels) < 2:
        s.problem(name, f"{value!r} is not a valid DNS domain",
                  "use lower-case labels separated by dots, e.g. paas.example.com")


def _check_url(s: _Section, name: str, value: str | None, schemes: tuple[str, ...]) -> None:
    if value is None:
        return
    pattern = rf"^({'|'.join(schemes)})://[^\s/]+(/\S*)?$"
    if not re.match(pattern, value):
        s.problem(name, f"{value!r} is not a {'/'.join(schemes)} URL",
                  f"write it like {schemes[0]}://host:port")


def _check_ip(s: _Section, name: str, value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        s.problem(name, f"{value!r} is not an IPv4 address", "write it like 203.0.113.10")
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Sections


def _network(s: _Section) -> NetworkConfig:
    external = s.string("external_network", required=True,
                        fix="name the cloud's external network (`openstack network list "
                            "--external`)")
    cidr_text = s.string("cidr")
    existing: ExistingNetwork | None = None
    if s.has("existing"):
        e = s.section("existing")
        network = e.string("network", required=True, fix="give the network's name or ID")
        subnet = e.string("subnet", required=True, fix="give the subnet's name or ID")
        router = e.string("router")
        e.finish()
        if network and subnet:
            existing = ExistingNetwork(network, subnet, router)
        if cidr_text is not None:
            s.problem("cidr", "set together with network.existing",
                      "either create a network (cidr) or reuse one (existing), not both")
    elif cidr_text is None:
        s.problem("cidr", "missing",
                  "set the CIDR of the network to create (e.g. 10.20.0.0/24) or "
                  "network.existing to reuse one")
    cidr = _parse_cidr(s, "cidr", cidr_text, private=True)
    if cidr is not None and cidr.prefixlen > 24:
        s.problem("cidr", f"/{cidr.prefixlen} is too small for the platform's address plan",
                  "use a /24 or larger (e.g. 10.20.0.0/24)")
        cidr = None
    dns = s.strings("dns_servers", ())
    for i, server in enumerate(dns):
        _check_ip(s, f"dns_servers[{i}]", server)
    mtu = s.integer("mtu", minimum=1280, maximum=9000)
    s.finish(allowed_extra=("existing",))
    return NetworkConfig(external or "", cidr, existing, dns, mtu)


# Accounts Flatcar and the platform's own services use: logging in as one of them either does
# not work (root: sshd refuses it) or hands an operator a service's identity.
_RESERVED_LOGIN_USERS = frozenset({
    "root", "bin", "daemon", "adm", "nobody", "sshd", "systemd-network", "systemd-resolve",
    "systemd-timesync", "messagebus", "docker", "etcd", "dnsmasq", "polkitd", "portage",
})


def _access(s: _Section, bastion_enabled: bool) -> AccessConfig:
    ssh_user = s.string("ssh_user", "core") or "core"
    if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", ssh_user):
        s.problem("ssh_user", f"{ssh_user!r} is not a login name",
                  "use 1-32 lower-case letters, digits, _ or -, starting with a letter or _ "
                  "(the user data creates it with the key; Flatcar's own is core)")
        ssh_user = "core"
    elif ssh_user in _RESERVED_LOGIN_USERS:
        s.problem("ssh_user", f"{ssh_user!r} is a system account (root logins are refused by "
                  "sshd): every node would lock operators out", "use core (Flatcar's) or a "
                  "name of your own")
    key = s.string("ssh_public_key")
    existing = s.string("existing_keypair")
    if key is None and existing is None:
        s.problem("ssh_public_key", "missing",
                  "set an SSH public key (or access.existing_keypair to reuse a keypair)")
    if key is not None and existing is not None:
        s.problem("existing_keypair", "set together with access.ssh_public_key",
                  "keep one: a key to create a keypair from, or an existing keypair's name")
    if key is not None and not _SSH_KEY.match(key):
        s.problem("ssh_public_key", "not an OpenSSH public key",
                  "paste one line of a .pub file, e.g. `ssh-ed25519 AAAA... you@host`")
    cidrs = _source_cidrs(s, "ssh_allowed_cidrs", required=bastion_enabled, open_allowed=False)
    s.finish()
    return AccessConfig(ssh_user, key, existing, cidrs)


def _node_role(s: _Section, default_image: str | None, role: Role, *,
               default_size: int) -> NodeRoleConfig:
    """The settings every node role has, with the rules its registry entry implies: a quorum
    role's size and anti-affinity, a private role's lack of floating IPs, a size that fits the
    role's address block (one address of it kept free: the database VIP is db-lb's last)."""
    spec = ROLES[role]
    quorum = spec.quorum
    size = s.integer("size", default_size, minimum=1, maximum=spec.addresses.size - 1)
    if quorum and size is not None and size < 3:
        s.problem("size", f"{size} is too small for a quorum",
                  "use 3 or more (an odd number) so the cluster survives one node loss")
    elif quorum and size is not None and size % 2 == 0:
        s.problem("size", f"{size} — must be odd",
                  f"use {size - 1} or {size + 1} (quorum survives one node loss)")
    flavor = s.string("flavor", required=True,
                      fix="name a flavor of the cloud (`openstack flavor list`)")
    image = s.string("image", default_image)
    if image is None:
        s.problem("image", "missing",
                  "set `paasmas:image` for every role or an image for this role "
                  "(`openstack image list`)")
    policy = s.choice("server_group_policy", ServerGroupPolicy,
                      ServerGroupPolicy.SOFT_ANTI_AFFINITY)
    if quorum and policy in (ServerGroupPolicy.AFFINITY, ServerGroupPolicy.SOFT_AFFINITY):
        s.problem("server_group_policy", f"{policy.value} puts the quorum on one host",
                  "use soft-anti-affinity or anti-affinity")
    boot_volume = s.integer("boot_volume_size", minimum=1)
    floating_ips = _floating_ips(s, size or 0)
    if spec.private and floating_ips is not None:
        s.problem("floating_ips", f"{role} nodes stay private (reached through the bastion)",
                  "remove it, or set it to false")
        floating_ips = None
    return NodeRoleConfig(size or 0, flavor or "", image or "", policy, boot_volume, floating_ips)


def _floating_ips(s: _Section, size: int) -> tuple[str, ...] | None:
    value = s._get("floating_ips")
    if value is None or value is False:
        return None
    if value is True:
        return ("",) * size
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if len(value) != size:
            s.problem("floating_ips", f"{len(value)} addresses for {size} nodes",
                      "list one pre-allocated address per node, or write true to allocate")
            return None
        for i, address in enumerate(value):
            _check_ip(s, f"floating_ips[{i}]", address)
        return tuple(value)
    s.problem("floating_ips", f"expected true, false or a list of addresses, got {value!r}",
              "write false (default), true, or [\"203.0.113.10\", ...]")
    return None


_ROLE_KEYS = ("size", "flavor", "image", "server_group_policy", "boot_volume_size",
              "floating_ips")


def _bastion(s: _Section, default_image: str | None) -> BastionConfig:
    enabled = s.boolean("enabled", True)
    if s.has("floating_ips"):
        # The bastion always has one floating IP; `floating_ip` reuses a pre-allocated one.
        s.problem("floating_ips", "ignored: the bastion always gets one floating IP",
                  "remove it; set bastion.floating_ip to reuse a pre-allocated address")
    if enabled:
        node = _node_role(s, default_image, Role.BASTION, default_size=1)
        if node.size != 1:
            s.problem("size", f"{node.size} bastions", "use 1: the bastion is one jump host")
    else:
        node = NodeRoleConfig(0, "", "", ServerGroupPolicy.SOFT_ANTI_AFFINITY, None, None)
        for name in _ROLE_KEYS:
            s.read.add(name)
    floating_ip = s.string("floating_ip")
    if floating_ip is not None:
        _check_ip(s, "floating_ip", floating_ip)
    s.finish()
    return BastionConfig(enabled, node, floating_ip)


def _paas(s: _Section, default_image: str | None) -> PaasConfig:
    node = _node_role(s, default_image, Role.PAAS, default_size=3)
    domain = s.string("domain")
    _check_hostname(s, "domain", domain)
    dns_zone, domain = _dns_zone(s, domain)
    dns_ttl = s.integer("dns_ttl", 300, minimum=30, maximum=86400) or 300
    allowed = _source_cidrs(s, "allowed_cidrs", required=True, open_allowed=True,
                            default=("0.0.0.0/0",))
    admin = s.string("admin_username", "admin") or "admin"
    if not re.fullmatch(r"[a-z][a-z0-9_-]{1,31}", admin):
        s.problem("admin_username", f"{admin!r} is not a valid user name",
                  "use 2-32 lower-case letters, digits, - or _")
    lb_fip = s.string("load_balancer_floating_ip")
    if lb_fip is not None:
        _check_ip(s, "load_balancer_floating_ip", lb_fip)
    cluster = _parse_cidr(s, "cluster_cidr", s.string("cluster_cidr", "10.42.0.0/16"),
                          private=True)
    service = _parse_cidr(s, "service_cidr", s.string("service_cidr", "10.43.0.0/16"),
                          private=True)
    app_lb_provider = s.string("app_load_balancer_provider", "amphora") or "amphora"
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", app_lb_provider):
        s.problem("app_load_balancer_provider", f"{app_lb_provider!r} is not a provider name",
                  "name an Octavia provider (`openstack loadbalancer provider list`), "
                  "e.g. amphora or ovn")
    s.finish()
    return PaasConfig(node, domain, allowed, admin, lb_fip,
                      cluster or ipaddress.IPv4Network("10.42.0.0/16"),
                      service or ipaddress.IPv4Network("10.43.0.0/16"), app_lb_provider,
                      dns_zone, dns_ttl)


def _dns_zone(s: _Section, domain: str | None) -> tuple[str | None, str | None]:
    """The Designate zone (absolute) and the platform domain inside it (the zone itself when
    no domain is set). Without a zone the domain is left as configured."""
    zone = s.string("dns_zone")
    if zone is None:
        return None, domain
    zone = zone.lower()
    _check_hostname(s, "dns_zone", zone)
    zone = zone.rstrip(".")
    if domain is None:
        return f"{zone}.", zone
    name = domain.lower().rstrip(".")
    if name != zone and not name.endswith(f".{zone}"):
        s.problem("domain", f"{domain!r} is not inside the DNS zone {zone}.",
                  f"use a name under {zone} (e.g. paas.{zone}), or leave `domain` unset "
                  "to use the zone itself")
    return f"{zone}.", name


def _jenkins(s: _Section, default_image: str | None) -> JenkinsConfig:
    node = _node_role(s, default_image, Role.JENKINS, default_size=1)
    volume = s.integer("data_volume_size", 20, minimum=1) or 20
    allowed = _source_cidrs(s, "allowed_cidrs", required=True, open_allowed=False)
    s.finish()
    return JenkinsConfig(node, volume, allowed)


# Accounts the database nodes create for themselves (cloud-config/database.yaml.j2), and MySQL's
# own schemas: an application must not take them over.
_RESERVED_DATABASE_USERS = frozenset({"root", "clustercheck", "paasmas_admin"})
_RESERVED_DATABASES = frozenset({"mysql", "information_schema", "performance_schema", "sys"})


def _database(s: _Section, default_image: str | None) -> DatabaseConfig:
    node = _node_role(s, default_image, Role.DATABASE, default_size=3)
    volume = s.integer("data_volume_size", 20, minimum=1) or 20
    name = s.string("name", "app") or "app"
    user = s.string("user", "app") or "app"
    for key, value in (("name", name), ("user", user)):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,31}", value):
            s.problem(key, f"{value!r} is not a valid MySQL identifier",
                      "use up to 32 letters, digits and _ (not starting with a digit)")
    if user in _RESERVED_DATABASE_USERS:
        s.problem("user", f"{user!r} is one of the platform's own database accounts",
                  "pick an application user name, e.g. app")
    if name.lower() in _RESERVED_DATABASES:
        s.problem("name", f"{name!r} is one of MySQL's own schemas",
                  "pick an application database name, e.g. app")
    lb = s.section("load_balancer")
    mode = lb.choice("mode", DatabaseLoadBalancerMode, DatabaseLoadBalancerMode.OCTAVIA)
    lb_node: NodeRoleConfig | None = None
    if mode is DatabaseLoadBalancerMode.HAPROXY:
        lb_node = _node_role(lb, default_image, Role.DB_LB, default_size=1)
    else:
        for key in _ROLE_KEYS:
            if lb.has(key):
                lb.problem(key, "only used when load_balancer.mode is haproxy",
                           "remove it, or set mode: haproxy")
                lb.read.add(key)
    lb.finish()
    replace = s.boolean("replace_on_user_data_change", False)
    s.finish(allowed_extra=("load_balancer",))
    return DatabaseConfig(node, volume, name, user,
                          DatabaseLoadBalancerConfig(mode, lb_node), replace)


# Drycc app ids and MySQL user names must both take "pr-<N>-<app>", and MySQL user names stop at
# 32 characters: 24 leaves room for pull requests up to 9999. pipeline/bin/paasmas-deploy checks
# the same pattern (APP_NAME_RE) on the Jenkins node.
_APP_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$")
# Deploy branches go into Groovy, Job DSL filters and shell: no spaces, quotes or globs.
_BRANCH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
_CREDENTIALS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# Jenkins names the jobs of pull requests PR-<N>; a deploy branch must not look like one.
_PULL_REQUEST_JOB_PREFIX = "PR-"


def _https_equivalent(url: str) -> str | None:
    """The https URL of an SSH clone URL (`git@host:o/r.git`, `ssh://git@host/o/r.git`)."""
    match = (re.fullmatch(r"[^@/\s]+@([^:/\s]+):/?([^\s]+)", url)
             or re.fullmatch(r"ssh://(?:[^@/\s]+@)?([^:/\s]+)(?::\d+)?/([^\s]+)", url))
    return f"https://{match.group(1)}/{match.group(2)}" if match else None


def _repository(s: _Section, name: str) -> GitHubRepository | None:
    url = s.string(name)
    if url is None:
        return None
    try:
        return GitHubRepository.parse(url)
    except ValueError as error:
        https = _https_equivalent(url)
        fix = (f"use the https URL, e.g. {https} (Jenkins' GitHub branch source scans over "
               "https with the token of pipeline.credentials_id)" if https else
               "use the repository's https URL, e.g. https://github.com/<owner>/<repo>.git")
        s.problem(name, f"{url!r} {error}", fix)
        return None


def _branch(s: _Section, name: str, default: str) -> str:
    branch = s.string(name, default) or default
    if not _BRANCH_NAME.match(branch):
        s.problem(name, f"{branch!r} is not a plain git branch name",
                  "use up to 100 letters, digits, '.', '_', '/' and '-', starting with a "
                  "letter or digit")
    elif branch.startswith(_PULL_REQUEST_JOB_PREFIX):
        s.problem(name, f"{branch!r} collides with the pull-request jobs (PR-<N>)",
                  "deploy from a branch whose name does not start with PR-")
    return branch


def _pipeline(s: _Section) -> PipelineConfig:
    """The deploy pipeline's settings, with every rule the Jenkins files and the deploy script
    need: once they load, rendering them cannot fail."""
    repository = _repository(s, "repository")
    credentials = s.string("credentials_id", "git-host") or "git-host"
    if not _CREDENTIALS_ID.match(credentials):
        s.problem("credentials_id", f"{credentials!r} is not a Jenkins credential ID",
                  "use up to 100 letters, digits, '.', '_' and '-', starting with a letter "
                  "or digit")
    app = s.string("app_name", "ghost") or "ghost"
    if not _APP_NAME.match(app):
        what = (f"{app!r} is {len(app)} characters long" if len(app) > 24 else
                f"{app!r} is not a valid app name")
        s.problem("app_name", what,
                  "use 1-24 lower-case letters, digits and '-', starting with a letter and "
                  "not ending with '-' (the database user pr-<N>-<app> must fit MySQL's "
                  "32 characters)")
    staging = _branch(s, "staging_branch", "development")
    production = _branch(s, "production_branch", "master")
    if staging == production:
        s.problem("staging_branch", f"same as pipeline.production_branch ({production!r})",
                  "staging must deploy from its own branch: production deploys only from "
                  "pipeline.production_branch")
    s.finish()
    return PipelineConfig(repository, credentials, app, staging, production)


def _downloads(s: _Section) -> DownloadsConfig:
    http_proxy = s.string("http_proxy")
    https_proxy = s.string("https_proxy")
    _check_url(s, "http_proxy", http_proxy, ("http", "https"))
    _check_url(s, "https_proxy", https_proxy, ("http", "https"))
    no_proxy = s.strings("no_proxy")
    mirror = s.string("registry_mirror")
    if mirror is not None and not re.fullmatch(r"[a-z0-9.-]+(:\d+)?(/[a-z0-9._/-]+)?", mirror):
        s.problem("registry_mirror", f"{mirror!r} is not a registry host",
                  "write it like mirror.example.com:5000 (no scheme)")
    s.finish()
    return DownloadsConfig(http_proxy, https_proxy, no_proxy, mirror)


def _check_floating_ips(top: _Section, bastion: BastionConfig, paas: PaasConfig,
                        roles: Mapping[str, NodeRoleConfig]) -> None:
    """A pre-allocated floating IP can be associated with one port only: the same address twice
    (in one list, or in two settings) would move it from one node to another on every `up`."""
    used: dict[str, str] = {}
    configured = [("bastion.floating_ip", bastion.floating_ip),
                  ("paas.load_balancer_floating_ip", paas.load_balancer_floating_ip)]
    for section, node in roles.items():
        configured += [(f"{section}.floating_ips[{i}]", a)
                       for i, a in enumerate(node.floating_ips or ()) if a]
    for key, address in configured:
        if not address:
            continue
        if address in used:
            top.problems.append(f"{key}: {address} is also {used[address]} — a floating IP "
                                "reaches one port: give each its own address")
        else:
            used[address] = key


def _check_overlaps(top: _Section, network: NetworkConfig, paas: PaasConfig) -> None:
    ranges = [("paas.cluster_cidr", paas.cluster_cidr), ("paas.service_cidr", paas.service_cidr)]
    if network.cidr is not None:
        ranges.insert(0, ("network.cidr", network.cidr))
    for i, (key_a, net_a) in enumerate(ranges):
        for key_b, net_b in ranges[i + 1:]:
            if net_a.overlaps(net_b):
                top.problems.append(
                    f"{key_b}: {net_b} overlaps {key_a} ({net_a}) — "
                    "pick ranges that do not overlap (node, pod and service traffic must "
                    "be told apart)")


# ---------------------------------------------------------------------------------------------


def load_pipeline(settings: Mapping[str, Any]) -> PipelineConfig:
    """The `pipeline` section alone (for `python -m pipeline.jenkins_files`), by the rules of
    `load`; raises ConfigError listing every problem."""
    problems: list[str] = []
    pipeline = _pipeline(_Section("pipeline", settings, problems))
    if problems:
        raise ConfigError(problems)
    return pipeline


def load(raw: Mapping[str, Any]) -> PlatformConfig:
    """Typed config from `paasmas:*` stack values; raises ConfigError listing every problem."""
    problems: list[str] = []
    data: dict[str, Any] = {}
    cloud = raw.get(CLOUD_KEY) or None
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        data[key] = _decode(value)
    top = _Section("", data, problems)
    image = top.string("image")
    azs = top.strings("availability_zones")
    bastion = _bastion(top.section("bastion"), image)
    network = _network(top.section("network"))
    access = _access(top.section("access"), bastion.enabled)
    paas = _paas(top.section("paas"), image)
    jenkins = _jenkins(top.section("jenkins"), image)
    database = _database(top.section("database"), image)
    pipeline = _pipeline(top.section("pipeline"))
    downloads = _downloads(top.section("downloads"))
    _check_overlaps(top, network, paas)
    role_nodes = {"paas": paas.node, "jenkins": jenkins.node, "database": database.node}
    if database.load_balancer.node is not None:
        role_nodes["database.load_balancer"] = database.load_balancer.node
    _check_floating_ips(top, bastion, paas, role_nodes)
    _check_namespaces(problems, raw)
    top.finish()
    if problems:
        raise ConfigError(problems)
    return PlatformConfig(network, access, azs, bastion, paas, jenkins, database, pipeline,
                          downloads, cloud)


# Namespaces Pulumi and the providers use; anything else close to ours is a typo of it.
_OTHER_NAMESPACES = ("openstack", "pulumi", "random", "tls")


def _check_namespaces(problems: list[str], raw: Mapping[str, Any]) -> None:
    """A key in a namespace that is almost `paasmas` (`pasmas:paas`, `PaaSmas:paas`) would be
    dropped silently: name it."""
    import difflib

    for full_key in sorted(raw):
        namespace, _, key = full_key.partition(":")
        if namespace == NAMESPACE or namespace in _OTHER_NAMESPACES:
            continue
        if namespace.lower() == NAMESPACE or difflib.SequenceMatcher(
                None, namespace.lower(), NAMESPACE).ratio() >= 0.75:
            problems.append(f"{full_key}: unknown namespace {namespace!r} — did you mean "
                            f"'{NAMESPACE}:{key}'? (settings outside {NAMESPACE}: are ignored)")


def roll_nodes(value: str | None, cfg: PlatformConfig, prefix: str) -> frozenset[str]:
    """The hostnames `make roll` names (PAASMAS_ROLL_NODES, comma-separated): each must be a
    node of this stack. Their servers take their current user data in this run; every other
    server keeps the user data it booted with (a change never replaces a node by itself)."""
    names = frozenset(n.strip() for n in (value or "").split(",") if n.strip())
    known = {f"{prefix}-{role}-{i}" for role, node in cfg.node_roles().items()
             for i in range(node.size)}
    unknown = sorted(names - known)
    if unknown:
        raise ConfigError([f"PAASMAS_ROLL_NODES: {', '.join(unknown)} not a node of this stack "
                           f"— name one of {', '.join(sorted(known))}"])
    return names


def _decode(value: Any) -> Any:
    """Pulumi hands structured values over as JSON text and scalars as plain text."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def stack_config_values() -> dict[str, Any]:
    """The running stack's config values, every namespace (the only config reader): `load`
    reads `paasmas:*` and `openstack:cloud`, and names keys in a namespace close to ours."""
    from pulumi.runtime import config as runtime_config

    values: dict[str, Any] = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    return values


__all__ = [
    "ConfigError",
    "GitHubRepository",
    "PipelineConfig",
    "PlatformConfig",
    "load",
    "load_pipeline",
    "stack_config_values",
]
