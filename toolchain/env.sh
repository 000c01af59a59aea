# shellcheck shell=bash
# The environment of every Pulumi command in this project: local binaries and plugins only, no
# update checks, a file:// state backend under .state/ unless PULUMI_BACKEND_URL is set already
# (a team's shared backend: README "State and secrets"), the passphrase secrets provider.
#
#   source toolchain/env.sh          # operators: exports the variables into this shell
#   bash toolchain/env.sh --make     # mk/toolchain.mk: the same variables as Make exports
#
# The variable list lives here only; mk/toolchain.mk evaluates what --make prints on every make
# run (so a passphrase set in the environment later still wins).

_paasmas_env_main() {
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    # shellcheck source=toolchain/versions.sh
    source "$here/versions.sh"

    # The pulumi to use: the one setup built, else one already on PATH at the pinned version,
    # else the build directory anyway (make setup fills it).
    local pulumi_dir=$PULUMI_BUILD_DIR
    if [[ ! -x $PULUMI_BUILD_DIR/pulumi ]] && command -v pulumi >/dev/null 2>&1 \
        && [[ $(pulumi version 2>/dev/null) == "v$PULUMI_VERSION" ]]; then
        pulumi_dir=$(dirname "$(command -v pulumi)")
    fi

    local state=$PAASMAS_ROOT/.state
    local -a vars=(
        "PULUMI_HOME=$PAASMAS_PULUMI_HOME"
        "PULUMI_SKIP_UPDATE_CHECK=true"
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
        "PULUMI_DISABLE_REGISTRY_RESOLVE=true"
        # An operator's backend (e.g. a team's s3:// bucket) wins over the checkout's own.
        "PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$state/backend}"
        "PAASMAS_CLOUD_CONFIG_VALIDATE=$PAASMAS_CLOUD_CONFIG_VALIDATE"
    )
    # Secrets: a passphrase from the environment wins; otherwise one generated once for this
    # checkout, readable by its owner only.
    if [[ -z ${PULUMI_CONFIG_PASSPHRASE+set} && -z ${PULUMI_CONFIG_PASSPHRASE_FILE+set} ]]; then
        mkdir -p "$state/backend"
        if [[ ! -s $state/passphrase ]]; then
            (umask 077 && head -c 32 /dev/urandom | base64 >"$state/passphrase")
        fi
        vars+=("PULUMI_CONFIG_PASSPHRASE_FILE=$state/passphrase")
    else
        mkdir -p "$state/backend"
    fi

    local v
    if [[ ${1:-} == --make ]]; then
        # One line (Make's $(shell) folds newlines); the .mk turns each "|NL|" back into one.
        printf 'export PATH := %s:$(PATH)|NL|' "$pulumi_dir"
        for v in "${vars[@]}"; do
            printf 'export %s := %s|NL|' "${v%%=*}" "${v#*=}"
        done
        printf '\n'
    else
        case ":$PATH:" in
            *":$pulumi_dir:"*) ;;
            *) export PATH="$pulumi_dir:$PATH" ;;
        esac
        for v in "${vars[@]}"; do
            export "${v?}"
        done
    fi
}

_paasmas_env_main "$@"
unset -f _paasmas_env_main
