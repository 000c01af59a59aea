"""Write mapping/tokens.go: Terraform resource and data source names -> Pulumi tokens.

The tokens are those of the pinned Python SDK (pulumi-openstack in requirements.txt), read from
its source: every resource class passes its token to `super().__init__`, every function calls
`pulumi.runtime.invoke('openstack:…')`. The Terraform names come from the upstream provider's
`provider.go` (the module in GOMODCACHE). A name matches a token of its module when the token's
name, lower-cased, equals the Terraform name without underscores, first with its `_vN` suffix
(`volume_v2` -> `VolumeV2`), then without it (`volume_v3` -> `Volume`); `index/` tokens whose name
is the whole Terraform name are the SDK's deprecated duplicates and become aliases. The few
names no rule explains are listed in the OVERRIDES tables. Run:

    python gen_tokens.py PROVIDER_GO SDK_DIR | gofmt > mapping/tokens.go

(tests/engine/test_openstack_schema.py checks that mapping/tokens.go is this script's output.)

It fails when a Terraform name has no token or an SDK token has no Terraform name.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

# Terraform service prefix -> Pulumi module.
MODULES = {
    "bgpvpn": "bgpvpn",
    "blockstorage": "blockstorage",
    "compute": "compute",
    "containerinfra": "containerinfra",
    "db": "database",
    "dns": "dns",
    "fw": "firewall",
    "identity": "identity",
    "images": "images",
    "keymanager": "keymanager",
    "lb": "loadbalancer",
    "networking": "networking",
    "objectstorage": "objectstorage",
    "orchestration": "orchestration",
    "sharedfilesystem": "sharedfilesystem",
    "vpnaas": "vpnaas",
}

# Names the SDK spells differently from the rule (historical names, typos kept for compatibility).
RESOURCE_OVERRIDES = {
    "openstack_blockstorage_quotaset_v3": "openstack:blockstorage/quoteSetV3:QuoteSetV3",
    "openstack_objectstorage_object_v1": "openstack:objectstorage/containerObject:ContainerObject",
}
DATA_SOURCE_OVERRIDES = {
    "openstack_dns_zone_v2": "openstack:dns/getDnsZone:getDnsZone",
    "openstack_sharedfilesystem_availability_zones_v2": (
        "openstack:sharedfilesystem/getAvailbilityZones:getAvailbilityZones"
    ),
    "openstack_loadbalancer_flavor_v2": (
        "openstack:loadbalancer/getLbFlavorDeprecated:getLbFlavorDeprecated"
    ),
}


@dataclass(frozen=True)
class Mapping:
    terraform: str
    token: str
    alias: str  # the SDK's deprecated index/ token for the same thing, or ""


def terraform_names(provider_go: str, section: str) -> list[str]:
    """Keys of DataSourcesMap or ResourcesMap in the provider's provider.go."""
    start = provider_go.index(f"{section}: map[string]*schema.Resource{{")
    end = provider_go.index("\n\t\t},", start)
    return re.findall(r'"(openstack_[a-z0-9_]+)":', provider_go[start:end])


def sdk_tokens(sdk: Path) -> tuple[list[str], list[str]]:
    """(resource tokens, function tokens) the SDK's classes and functions use."""
    resources: set[str] = set()
    functions: set[str] = set()
    for path in sdk.rglob("*.py"):
        text = path.read_text()
        resources.update(re.findall(r"__self__\)\.__init__\(\s*'(openstack:[^']+)'", text))
        functions.update(re.findall(r"invoke(?:_output)?\('(openstack:[^']+)'", text))
    return sorted(resources), sorted(functions)


def match(terraform: str, tokens: list[str], function: bool) -> list[str]:
    overrides = DATA_SOURCE_OVERRIDES if function else RESOURCE_OVERRIDES
    if terraform in overrides:
        return [overrides[terraform]]
    rest = terraform.removeprefix("openstack_")
    service, _, name = rest.partition("_")
    versioned = re.fullmatch(r"(.*)_v(\d+)", name)
    base, version = (versioned.group(1), versioned.group(2)) if versioned else (name, "")
    module = MODULES.get(service)
    ranked: list[tuple[int, str]] = []
    for token in tokens:
        token_module, member = token.split(":")[1].split("/")[0], token.split(":")[2]
        key = member.lower().removeprefix("get") if function else member.lower()
        if token_module == module and version and key == f"{base}v{version}".replace("_", ""):
            ranked.append((0, token))
        elif token_module == module and key == base.replace("_", ""):
            ranked.append((1, token))
        elif token_module == "index" and key == rest.replace("_", ""):
            ranked.append((2, token))
    return [token for _, token in sorted(ranked)]


def mappings(names: list[str], tokens: list[str], function: bool) -> list[Mapping]:
    found: list[Mapping] = []
    used: set[str] = set()
    for name in names:
        matched = match(name, tokens, function)
        if not matched or len(matched) > 2:
            raise SystemExit(f"{name}: no single Pulumi token in the SDK: {matched}")
        found.append(Mapping(name, matched[0], matched[1] if len(matched) == 2 else ""))
        used.update(matched)
    unused = sorted(set(tokens) - used)
    if unused:
        raise SystemExit(f"SDK tokens without a Terraform name: {unused}")
    return found


def go_table(variable: str, rows: list[Mapping]) -> str:
    lines = [f"var {variable} = map[string]token{{"]
    for row in rows:
        lines.append(f'\t"{row.terraform}": {{"{row.token}", "{row.alias}"}},')
    lines.append("}")
    return "\n".join(lines)


def main() -> None:
    provider_go = Path(sys.argv[1]).read_text()
    resource_tokens, function_tokens = sdk_tokens(Path(sys.argv[2]))
    resources = mappings(terraform_names(provider_go, "ResourcesMap"), resource_tokens, False)
    functions = mappings(terraform_names(provider_go, "DataSourcesMap"), function_tokens, True)
    print("// Code generated by gen_tokens.py from the pinned pulumi-openstack SDK and the")
    print("// upstream provider's provider.go. DO NOT EDIT.\n")
    print("package mapping\n")
    print(go_table("resourceTokens", resources))
    print()
    print(go_table("dataSourceTokens", functions))


if __name__ == "__main__":
    main()
