#!/usr/bin/env bash
# make toolchain: the real Pulumi engine for this project, from Go modules, cached by version.
#
#   pulumi CLI + Python language host   at the `pulumi` pin of requirements.txt
#   pulumi-resource-openstack            at the pulumi-openstack pin (our bridged build)
#   cloud-config-validate                (toolchain/go/cloud-config-validator)
#
# Everything goes under $PAASMAS_CACHE (default ~/.cache/paasmas), never into the repository.
# A warm run only checks what is there. Each step prints its duration; a failing step says what
# to do. Environment: GOPROXY as usual; PAASMAS_GO_PARALLEL (default 2) for `go build -p`;
# PAASMAS_REQUIRE_PROVIDERS=1 makes a provider plugin the proxy does not serve an error (exit 4)
# instead of a reported gap.
set -Eeuo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=toolchain/versions.sh
source "$here/versions.sh"
# shellcheck source=toolchain/env.sh
source "$here/env.sh"

GO_PARALLEL=${PAASMAS_GO_PARALLEL:-2}
export GOMODCACHE=$PAASMAS_CACHE/go/mod GOCACHE=$PAASMAS_CACHE/go/build
export GOFLAGS=-modcacherw CGO_ENABLED=0
GO_TAGS=osusergo,grpcnotrace
STATUS_FILE=$TOOLCHAIN_CACHE/status
mkdir -p "$TOOLCHAIN_CACHE" "$PULUMI_HOME"

# --- progress and failures --------------------------------------------------------------------

step_name="" step_fix="" step_start=0 total_start=$SECONDS
declare -a missing=() provided=()

log() { printf '%s\n' "$*" >&2; }
elapsed() { printf '%ds' $((SECONDS - $1)); }

# step NAME FIX: starts a step; FIX is what a failure of this step asks the operator to do.
step() {
    step_name=$1 step_fix=$2 step_start=$SECONDS
    log "==> $step_name"
}
done_step() { log "    ok: $step_name ($(elapsed "$step_start")${1:+, $1})"; }

on_error() {
    local code=$?
    log ""
    log "FAILED: $step_name (after $(elapsed "$step_start"), exit $code)"
    log "  fix: $step_fix"
    exit "$code"
}
trap on_error ERR

# run LOGFILE CMD...: runs a long command with its output in LOGFILE, shown on failure.
run() {
    local logfile=$1
    shift
    if ! "$@" >"$logfile" 2>&1; then
        tail -n 30 "$logfile" >&2
        log "  (full log: $logfile)"
        return 1
    fi
}

# --- pins and prerequisites -------------------------------------------------------------------

step "versions from requirements.txt" "pin pulumi and each provider package as NAME==X.Y.Z in requirements.txt"
[[ -n $PULUMI_VERSION ]]
for provider in "${PROVIDERS[@]}"; do
    read -r name _ package <<<"$provider"
    [[ -n $(pinned_version "$package") ]] || { log "    no pin for $package"; false; }
done
done_step "pulumi $PULUMI_VERSION"

# pulumi_on_path: a pulumi outside our cache at exactly the pinned version (an operator's install).
pulumi_on_path() {
    local existing
    existing=$(command -v pulumi || true)
    [[ -n $existing && $existing != "$PULUMI_BUILD_DIR/pulumi" ]] \
        && [[ $("$existing" version 2>/dev/null) == "v$PULUMI_VERSION" ]]
}
pulumi_ready() {
    [[ -x $PULUMI_BUILD_DIR/pulumi && -x $PULUMI_BUILD_DIR/pulumi-language-python \
        && -x $PULUMI_BUILD_DIR/pulumi-language-python-exec \
        && -x $PULUMI_BUILD_DIR/pulumi-resource-pulumi-python ]] \
        && [[ $("$PULUMI_BUILD_DIR/pulumi" version) == "v$PULUMI_VERSION" ]]
}
HOST_KEY_FILE=$PULUMI_BUILD_DIR/pulumi-language-python.key
language_host_ready() {
    [[ -x $PULUMI_BUILD_DIR/pulumi-language-python && -f $HOST_KEY_FILE ]] \
        && [[ $(<"$HOST_KEY_FILE") == "$(language_host_key)" ]]
}
validator_ready() { [[ -x $PAASMAS_CLOUD_CONFIG_VALIDATE ]]; }
plugin_dir() { printf '%s/plugins/resource-%s-v%s' "$PULUMI_HOME" "$1" "$2"; }
# provider_out NAME SOURCE VERSION: where a provider's build lives in the cache; a bridged build
# is keyed by its wrapper module's content too.
provider_out() {
    if [[ $2 == bridge:* ]]; then
        printf '%s/providers/%s-v%s-%s' "$TOOLCHAIN_CACHE" "$1" "$3" "$(bridge_key "${2#bridge:}" "$3")"
    else
        printf '%s/providers/%s-v%s' "$TOOLCHAIN_CACHE" "$1" "$3"
    fi
}
# plugin_ready NAME SOURCE VERSION: the plugin cache holds exactly the build for this key.
plugin_ready() {
    local installed built
    installed=$(plugin_dir "$1" "$3")/pulumi-resource-$1
    built=$(provider_out "$@")/pulumi-resource-$1
    [[ -x $installed ]] || return 1
    # An upstream module's build is fixed by its version; a bridged one must be this very binary.
    [[ $2 != bridge:* ]] || cmp -s "$installed" "$built"
}

all_ready=true
pulumi_ready || pulumi_on_path || all_ready=false
pulumi_on_path || language_host_ready || all_ready=false
validator_ready || all_ready=false
for provider in "${PROVIDERS[@]}"; do
    read -r name source package <<<"$provider"
    plugin_ready "$name" "$source" "$(pinned_version "$package")" || all_ready=false
done

if ! $all_ready; then
    step "Go toolchain" "install Go >= 1.24 (the golang package of Debian 12 is too old), or put pulumi v$PULUMI_VERSION on PATH"
    command -v go >/dev/null
    done_step "$(go env GOVERSION)"

    step "Go module proxy ($(go env GOPROXY))" \
        "Go module proxy unreachable: set GOPROXY, or install Pulumi v$PULUMI_VERSION from pulumi.com and its plugins with 'pulumi plugin install'"
    run "$TOOLCHAIN_CACHE/proxy-check.log" go mod download -json "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION"
    done_step
fi

# --- Pulumi CLI and Python language host ------------------------------------------------------

# module_field MODULE@QUERY FIELD: downloads a module (cached) and prints one field of
# `go mod download -json` (Dir, Version); prints nothing if the proxy refuses it.
module_field() {
    local json
    json=$(go mod download -json "$1" 2>/dev/null) || return 0
    sed -nE "s/^\t\"$2\": \"(.*)\",?\$/\1/p" <<<"$json"
}
module_dir() { module_field "$1" Dir; }

PULUMI_ENGINE_SRC=$TOOLCHAIN_CACHE/src/pulumi-engine-v$PULUMI_VERSION
PULUMI_LDFLAGS="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"

# engine_source: a fresh copy of the wrapper module at the pinned version, tidied.
engine_source() {
    rm -rf "$PULUMI_ENGINE_SRC"
    mkdir -p "$PULUMI_ENGINE_SRC"
    cp -r "$PAASMAS_ROOT/toolchain/go/pulumi-engine/." "$PULUMI_ENGINE_SRC/"
    (
        cd "$PULUMI_ENGINE_SRC"
        go mod edit -require="github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" \
            -require="github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION"
        run "$TOOLCHAIN_CACHE/pulumi-tidy.log" go mod tidy
    )
}

# build_language_host DIR: builds our pulumi-language-python into DIR and records its key.
build_language_host() {
    local key
    key=$(language_host_key)
    engine_source
    (cd "$PULUMI_ENGINE_SRC" && run "$TOOLCHAIN_CACHE/language-host-build.log" \
        go build -p "$GO_PARALLEL" -trimpath -tags "$GO_TAGS" -ldflags "$PULUMI_LDFLAGS" \
        -o "$1/" ./cmd/pulumi-language-python)
    printf '%s\n' "$key" >"$1/pulumi-language-python.key"
}

build_pulumi() {
    local stage=$TOOLCHAIN_CACHE/stage-pulumi-v$PULUMI_VERSION
    rm -rf "$stage"
    mkdir -p "$stage"
    build_language_host "$stage"
    (cd "$PULUMI_ENGINE_SRC" && run "$TOOLCHAIN_CACHE/pulumi-build.log" \
        go build -p "$GO_PARALLEL" -trimpath -tags "$GO_TAGS" -ldflags "$PULUMI_LDFLAGS" \
        -o "$stage/" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    # The executor and the dynamic-provider plugin are scripts shipped in the same sdk release.
    local sdk
    sdk=$(module_dir "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION")
    install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$stage/"
    install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$stage/"
    rm -rf "$PULUMI_BUILD_DIR"
    mkdir -p "$(dirname "$PULUMI_BUILD_DIR")"
    mv "$stage" "$PULUMI_BUILD_DIR"
}

step "pulumi v$PULUMI_VERSION and pulumi-language-python" \
    "see the log above; 'rm -rf $PULUMI_BUILD_DIR' and rerun make setup (cold build: about 20-35 min on 2 cores)"
PULUMI=$PULUMI_BUILD_DIR/pulumi
if pulumi_ready && language_host_ready; then
    done_step "cached"
elif pulumi_ready; then
    # Only our host changed: rebuild it alone (seconds to a minute), keep the CLI.
    build_language_host "$PULUMI_BUILD_DIR"
    language_host_ready
    done_step "language host rebuilt (key $(language_host_key)); CLI cached"
elif pulumi_on_path; then
    PULUMI=$(command -v pulumi)
    done_step "using $PULUMI, already at the pinned version"
else
    build_pulumi
    pulumi_ready && language_host_ready
    done_step "built into $PULUMI_BUILD_DIR"
fi

# --- cloud-config validator -------------------------------------------------------------------

step "cloud-config-validate" "see the log above; the module is toolchain/go/cloud-config-validator"
if validator_ready; then
    done_step "cached"
else
    src=$TOOLCHAIN_CACHE/src/cloud-config-validator
    rm -rf "$src" && mkdir -p "$src"
    cp -r "$PAASMAS_ROOT/toolchain/go/cloud-config-validator/." "$src/"
    (cd "$src" && run "$TOOLCHAIN_CACHE/validator-build.log" go build -p "$GO_PARALLEL" -trimpath \
        -ldflags "-s -w" -o "$PAASMAS_CLOUD_CONFIG_VALIDATE" .)
    done_step "built $PAASMAS_CLOUD_CONFIG_VALIDATE"
fi

# --- provider plugins -------------------------------------------------------------------------

# provider_commit REPO VERSION: the commit of tag vVERSION, from the proxy's record of the
# repository's root module (the provider module itself has no tags of its own).
provider_commit() {
    local json
    json=$(go mod download -json "$1@v$2+incompatible" 2>/dev/null) || return 0
    sed -nE 's/^\t\t"Hash": "([0-9a-f]{40})",?$/\1/p' <<<"$json"
}

# build_bridged_provider NAME DIR VERSION: builds pulumi-resource-NAME from our wrapper module DIR
# (an upstream Terraform provider + the Pulumi Terraform bridge + our token mapping): first the
# wrapper's tfgen, which writes the Pulumi schema, then the plugin with that schema embedded, both
# stamped with VERSION. Installs it into the plugin cache from the local file.
build_bridged_provider() {
    local name=$1 dir=$2 version=$3
    local out src stage upstream
    out=$(provider_out "$name" "bridge:$dir" "$version")
    src=$TOOLCHAIN_CACHE/src/$name-provider
    stage=$out.stage
    rm -rf "$src" "$stage" && mkdir -p "$src" "$stage"
    cp -r "$PAASMAS_ROOT/$dir/." "$src/"
    local ldflags="-s -w -X main.version=$version"
    (
        cd "$src"
        log "    building pulumi-tfgen-$name (upstream provider + bridge; cold: several minutes)"
        run "$TOOLCHAIN_CACHE/$name-tfgen-build.log" go build -p "$GO_PARALLEL" -trimpath \
            -tags "$GO_TAGS" -ldflags "$ldflags" -o "$stage/" "./cmd/pulumi-tfgen-$name"
        # tfgen reads the upstream provider's docs for the schema's descriptions.
        upstream=$(go list -m -f '{{if not .Indirect}}{{.Path}} {{.Dir}}{{end}}' all \
            | awk '$1 ~ /terraform-provider-/ {print $2}')
        PAASMAS_UPSTREAM_DIR=$upstream run "$TOOLCHAIN_CACHE/$name-tfgen.log" \
            "$stage/pulumi-tfgen-$name" schema --skip-examples --out "$stage/schema"
        # The schema carries the plugin's version, as upstream's release schemas do.
        python3 -c 'import json, sys
path, version = sys.argv[1:]
schema = json.load(open(path))
schema["version"] = version
json.dump(schema, open(path, "w"), indent=2, sort_keys=True)' "$stage/schema/schema.json" "$version"
        cp "$stage/schema/schema.json" "cmd/pulumi-resource-$name/schema.json"
        run "$TOOLCHAIN_CACHE/$name-build.log" go build -p "$GO_PARALLEL" -trimpath \
            -tags "$GO_TAGS" -ldflags "$ldflags" -o "$stage/" "./cmd/pulumi-resource-$name"
    )
    rm -rf "$out" && mv "$stage" "$out"
    "$PULUMI" plugin install --reinstall resource "$name" "$version" \
        --file "$out/pulumi-resource-$name" >&2
}

# build_provider NAME MODULE VERSION: builds pulumi-resource-NAME at VERSION and installs it into
# the plugin cache from the local file. Returns 3 when the proxy does not serve the module.
build_provider() {
    local name=$1 module=$2 version=$3
    local repo=${module%/provider/*}
    local out=$TOOLCHAIN_CACHE/providers/$name-v$version
    local commit pseudo dir
    commit=$(provider_commit "$repo" "$version")
    if [[ -z $commit ]]; then
        log "    the Go module proxy has no record of tag v$version of $repo"
        return 3
    fi
    # go turns the commit into the module's pseudo-version.
    pseudo=$(module_field "$module@$commit" Version)
    if [[ -z $pseudo ]]; then
        log "    the Go module proxy does not serve $module at commit ${commit:0:12} (tag v$version)"
        return 3
    fi
    dir=$(module_dir "$module@$pseudo")
    local src=$TOOLCHAIN_CACHE/src/$name-v$version
    rm -rf "$src" && mkdir -p "$src" "$out"
    cp -r "$dir/." "$src/" && chmod -R u+w "$src"
    (
        cd "$src/cmd/pulumi-resource-$name"
        # main.go embeds a generated schema: generate it as upstream's Makefile does.
        if [[ -f generate.go ]]; then
            VERSION=$version run "$TOOLCHAIN_CACHE/$name-generate.log" go run generate.go
        fi
        cd "$src"
        run "$TOOLCHAIN_CACHE/$name-build.log" go build -p "$GO_PARALLEL" -trimpath -tags "$GO_TAGS" \
            -ldflags "-s -w -X $module/pkg/version.Version=$version" \
            -o "$out/pulumi-resource-$name" "./cmd/pulumi-resource-$name"
    )
    "$PULUMI" plugin install resource "$name" "$version" --file "$out/pulumi-resource-$name" >&2
}

for provider in "${PROVIDERS[@]}"; do
    read -r name source package <<<"$provider"
    version=$(pinned_version "$package")
    out=$(provider_out "$name" "$source" "$version")
    if [[ $source == bridge:* ]]; then
        step "pulumi-resource-$name v$version (bridged: ${source#bridge:}, key ${out##*-})" \
            "see the log above; the wrapper module is ${source#bridge:} (docs/toolchain.md, 'OpenStack plugin')"
    else
        step "pulumi-resource-$name v$version" \
            "see the log above; the version must be both on PyPI ($package) and served as $source"
    fi
    how=upstream-module
    if [[ $source == bridge:* ]]; then how=bridged-terraform-provider; fi
    provided+=("$name $version $how $out")
    if plugin_ready "$name" "$source" "$version"; then
        done_step "cached"
        continue
    fi
    if [[ -x $out/pulumi-resource-$name ]]; then
        "$PULUMI" plugin install --reinstall resource "$name" "$version" \
            --file "$out/pulumi-resource-$name" >&2
        done_step "installed from the cache ($out)"
        continue
    fi
    if [[ $source == bridge:* ]]; then
        build_bridged_provider "$name" "${source#bridge:}" "$version"
        plugin_ready "$name" "$source" "$version"
        done_step "built into $out and installed into $PULUMI_HOME"
        continue
    fi
    # Exit status 3 (module not served) is reported, not fatal: run without the ERR trap.
    trap - ERR
    set +e
    (set -e; build_provider "$name" "$source" "$version")
    rc=$?
    set -e
    trap on_error ERR
    case $rc in
        0) done_step "built and installed into $PULUMI_HOME" ;;
        3)
            log "    MISSING: pulumi-resource-$name v$version cannot be built here: its Go module is not served"
            log "    fix: install it from a machine with internet access:" \
                "pulumi plugin install resource $name $version (with PULUMI_HOME=$PULUMI_HOME)"
            missing+=("$name $version module-not-served")
            unset 'provided[-1]'
            ;;
        *) false ;;
    esac
done

# --- summary ----------------------------------------------------------------------------------

{
    echo "pulumi v$PULUMI_VERSION $PULUMI_BUILD_DIR"
    echo "validator $PAASMAS_CLOUD_CONFIG_VALIDATE"
    for p in "${provided[@]}"; do echo "provider $p"; done
    for m in "${missing[@]}"; do echo "missing-provider $m"; done
} >"$STATUS_FILE"

trap - ERR
log "toolchain: done in $(elapsed "$total_start"); pulumi $("$PULUMI" version) in $PULUMI_BUILD_DIR"
log "toolchain: PULUMI_HOME=$PULUMI_HOME; validator: $PAASMAS_CLOUD_CONFIG_VALIDATE"
if ((${#missing[@]})); then
    log "toolchain: INCOMPLETE: no provider plugin for: ${missing[*]} (see $STATUS_FILE)"
    if [[ ${PAASMAS_REQUIRE_PROVIDERS:-0} == 1 ]]; then
        log "toolchain: PAASMAS_REQUIRE_PROVIDERS=1: failing; see docs/toolchain.md, 'Provider plugins'"
        exit 4
    fi
fi
