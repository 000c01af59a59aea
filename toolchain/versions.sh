# shellcheck shell=bash
# Toolchain versions and cache paths, derived from requirements.txt (the one place versions are
# pinned): the Pulumi CLI and language host follow the `pulumi` pin, each provider plugin follows
# its Python package's pin. Sourced by env.sh and build.sh; sets variables, prints nothing.

PAASMAS_ROOT=${PAASMAS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PAASMAS_CACHE=${PAASMAS_CACHE:-$HOME/.cache/paasmas}

# pinned_version NAME -> the version on the `NAME==X` line of requirements.txt
pinned_version() {
    sed -nE "s/^$1==([0-9][0-9A-Za-z.+-]*)[[:space:]]*(#.*)?$/\1/p" "$PAASMAS_ROOT/requirements.txt"
}

PULUMI_VERSION=$(pinned_version pulumi)
# Provider plugins: name, source, Python package (whose pin is the version). The source is either
# `bridge:DIR`, our wrapper module that serves an upstream Terraform provider through the Pulumi
# Terraform bridge (openstack: github.com/pulumi/pulumi-openstack/provider/v5 is not served by
# the Go module proxy here), or the upstream Pulumi provider's Go module.
PROVIDERS=(
    "openstack bridge:toolchain/go/openstack-provider pulumi-openstack"
)

TOOLCHAIN_CACHE=$PAASMAS_CACHE/toolchain
PULUMI_BUILD_DIR=$TOOLCHAIN_CACHE/pulumi-v$PULUMI_VERSION/bin
PAASMAS_PULUMI_HOME=$TOOLCHAIN_CACHE/pulumi-home
# A content key: a change to the wrapper module rebuilds the validator.
validator_key() {
    cat "$PAASMAS_ROOT"/toolchain/go/cloud-config-validator/{go.mod,go.sum,main.go} \
        | sha256sum | cut -c1-12
}
PAASMAS_CLOUD_CONFIG_VALIDATE=$TOOLCHAIN_CACHE/cloud-config-validate-$(validator_key)/cloud-config-validate
# The language host's content key (its source, the wrapper module, the Pulumi pin): a change to
# our host rebuilds only the host, not the CLI. build.sh records it next to the binary.
language_host_key() {
    {
        echo "$PULUMI_VERSION"
        cat "$PAASMAS_ROOT"/toolchain/go/pulumi-engine/{go.mod,tools.go} \
            "$PAASMAS_ROOT"/toolchain/go/pulumi-engine/cmd/pulumi-language-python/*.go
    } | sha256sum | cut -c1-12
}
# bridge_key DIR VERSION: the content key of a bridged provider build (its wrapper module and the
# version it is stamped with): a change to either rebuilds the plugin.
bridge_key() {
    {
        echo "$2"
        (cd "$PAASMAS_ROOT/$1" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) \
            | LC_ALL=C sort | xargs cat)
    } | sha256sum | cut -c1-12
}
