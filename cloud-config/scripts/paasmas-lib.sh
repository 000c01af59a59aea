# shellcheck shell=sh
# Shared functions of the PaaSmas node agents: an etcd v3 client over the JSON gateway (curl +
# base64, no jq) and the local Galera state. POSIX sh; sourced, never run.
#
# etcd settings (environment):
#   ETCD_ENDPOINTS   comma list, e.g. https://10.20.0.20:2379,https://10.20.0.21:2379
#   ETCD_CA_FILE     CA that signed the etcd servers (empty: plain http, for labs only)
#   ETCD_CERT_FILE   client certificate (empty: no client certificate)
#   ETCD_KEY_FILE    its key
#   ETCD_TIMEOUT     seconds per request (default 5)
# Galera settings:
#   MYSQL_CMD            command line of the mysql client, e.g. "mysql" or "docker exec pxc mysql"
#   MYSQL_DEFAULTS_FILE  option file with user/password, passed as --defaults-extra-file

paasmas_log() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
}

paasmas_b64() {
    printf '%s' "$1" | base64 | tr -d '\n'
}

# The smallest key after every key that starts with $1 (etcd's range_end for a prefix).
paasmas_prefix_end() {
    _pe_last=$(printf '%s' "$1" | tail -c 1)
    _pe_head=${1%"$_pe_last"}
    _pe_code=$(printf '%d' "'$_pe_last")
    # shellcheck disable=SC2059  # the format is the octal escape of the next byte
    printf "%s\\$(printf '%03o' $((_pe_code + 1)))" "$_pe_head"
}

# POST a JSON body to the first endpoint that answers; print the response body.
paasmas_etcd_post() {
    _ep_path=$1
    _ep_body=$2
    _ep_ifs=$IFS
    IFS=,
    for _ep_url in $ETCD_ENDPOINTS; do
        IFS=$_ep_ifs
        set --
        if [ -n "${ETCD_CA_FILE:-}" ]; then
            set -- "$@" --cacert "$ETCD_CA_FILE"
        fi
        if [ -n "${ETCD_CERT_FILE:-}" ]; then
            set -- "$@" --cert "$ETCD_CERT_FILE" --key "$ETCD_KEY_FILE"
        fi
        # etcd is on the tenant network: never through the node's download proxy.
        if curl -sS --fail --noproxy '*' --max-time "${ETCD_TIMEOUT:-5}" \
            -H 'Content-Type: application/json' -X POST --data "$_ep_body" \
            "$@" "${_ep_url%/}$_ep_path"; then
            echo
            return 0
        fi
    done
    IFS=$_ep_ifs
    return 1
}

# The value of a JSON string field (last occurrence) in a one-line response.
paasmas_json_field() {
    sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"
}

# Grant a lease of $1 seconds; print its ID.
paasmas_lease_grant() {
    _lg_id=$(paasmas_etcd_post /v3/lease/grant "{\"TTL\":$1}" | paasmas_json_field ID) || return 1
    [ -n "$_lg_id" ] || return 1
    printf '%s\n' "$_lg_id"
}

# Refresh lease $1; fails when etcd is unreachable or the lease has expired (TTL absent or <= 0).
paasmas_lease_keepalive() {
    _lk_ttl=$(paasmas_etcd_post /v3/lease/keepalive "{\"ID\":\"$1\"}" \
        | paasmas_json_field TTL) || return 1
    [ -n "$_lk_ttl" ] && [ "$_lk_ttl" -gt 0 ]
}

paasmas_lease_revoke() {
    paasmas_etcd_post /v3/lease/revoke "{\"ID\":\"$1\"}" >/dev/null
}

# Put key $1 = value $2, attached to lease $3 when given.
paasmas_put() {
    _p_body="{\"key\":\"$(paasmas_b64 "$1")\",\"value\":\"$(paasmas_b64 "$2")\""
    if [ -n "${3:-}" ]; then
        _p_body="$_p_body,\"lease\":\"$3\""
    fi
    paasmas_etcd_post /v3/kv/put "$_p_body}" >/dev/null
}

# Print the keys under prefix $1, without the prefix, one a line, sorted. Fails when etcd is
# unreachable (an empty answer means no live key).
paasmas_range_prefix() {
    _rp_body="{\"key\":\"$(paasmas_b64 "$1")\",\"range_end\":\"$(paasmas_b64 "$(paasmas_prefix_end "$1")")\",\"keys_only\":true}"
    _rp_out=$(paasmas_etcd_post /v3/kv/range "$_rp_body") || return 1
    # shellcheck disable=SC2020  # one newline for each of the three separators
    printf '%s\n' "$_rp_out" | tr ',{}' '\n\n\n' | sed -n 's/^"key":"\([^"]*\)"$/\1/p' \
        | while IFS= read -r _rp_key; do
            _rp_name=$(printf '%s' "$_rp_key" | base64 -d) || continue
            printf '%s\n' "${_rp_name#"$1"}"
        done | sort
}

# "<wsrep_local_state_comment> <wsrep_cluster_status>" of the local node, e.g. "Synced Primary";
# empty when the server does not answer.
paasmas_wsrep_status() {
    set --
    if [ -n "${MYSQL_DEFAULTS_FILE:-}" ]; then
        set -- "--defaults-extra-file=$MYSQL_DEFAULTS_FILE"
    fi
    # shellcheck disable=SC2086  # MYSQL_CMD is a command line by design
    ${MYSQL_CMD:-mysql} "$@" --connect-timeout=3 -N -B -e \
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment','wsrep_cluster_status')" \
        2>/dev/null \
        | awk -F '\t' '$1 == "wsrep_local_state_comment" { s = $2 }
                       $1 == "wsrep_cluster_status" { c = $2 }
                       END { if (s != "" || c != "") print s " " c }'
}

# The local node's wsrep_cluster_state_uuid (the identity of the cluster it belongs to); empty
# when the server does not answer.
paasmas_cluster_uuid() {
    set --
    if [ -n "${MYSQL_DEFAULTS_FILE:-}" ]; then
        set -- "--defaults-extra-file=$MYSQL_DEFAULTS_FILE"
    fi
    # shellcheck disable=SC2086  # MYSQL_CMD is a command line by design
    ${MYSQL_CMD:-mysql} "$@" --connect-timeout=3 -N -B -e \
        "SHOW GLOBAL STATUS WHERE Variable_name = 'wsrep_cluster_state_uuid'" 2>/dev/null \
        | awk -F '\t' '$1 == "wsrep_cluster_state_uuid" { print $2 }'
}

# The value of key $1 ("" when absent); fails when etcd does not answer.
paasmas_get() {
    _g_out=$(paasmas_etcd_post /v3/kv/range "{\"key\":\"$(paasmas_b64 "$1")\"}") || return 1
    printf '%s\n' "$_g_out" | paasmas_json_field value | base64 -d 2>/dev/null || true
}

# Create key $1 = $2 (no lease) only if it does not exist; succeeds when this call created it.
paasmas_create() {
    _cr_key=$(paasmas_b64 "$1")
    _cr_body="{\"compare\":[{\"key\":\"$_cr_key\",\"target\":\"CREATE\",\"create_revision\":\"0\"}],"
    _cr_body="$_cr_body\"success\":[{\"request_put\":{\"key\":\"$_cr_key\",\"value\":\"$(paasmas_b64 "$2")\"}}]}"
    paasmas_etcd_post /v3/kv/txn "$_cr_body" | grep -q '"succeeded":true'
}

paasmas_is_synced_primary() {
    [ "$(paasmas_wsrep_status)" = "Synced Primary" ]
}

# Items of comma list $1 other than $2, comma separated.
paasmas_list_without() {
    printf '%s\n' "$1" | tr ',' '\n' | awk -v self="$2" 'NF && $0 != self' | paste -sd, -
}
