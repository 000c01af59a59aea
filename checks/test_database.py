"""Database nodes: Galera size, Synced and Primary, clustercheck, discovery keys in etcd, and a
client's view through the load balancer (the application user logs in, lands on a Synced
node). SQL goes through the node's own client (MYSQL_CMD in /etc/paasmas/database.env)."""

from __future__ import annotations

import shlex

import testinfra.host

from checks.inventory import Inventory, Node, status_variables
from checks.remote import run, sourced
from components import outputs
from components.roles import Role, port

ROLE = Role.DATABASE.value
CLUSTERCHECK = port(Role.DATABASE, "clustercheck")
DATABASE_ENV = "/etc/paasmas/database.env"
WSREP = ("wsrep_cluster_size", "wsrep_local_state_comment", "wsrep_cluster_status",
         "wsrep_ready")


def wsrep(host: testinfra.host.Host, node: Node) -> dict[str, str]:
    names = ",".join(f"'{n}'" for n in WSREP)
    query = f"SHOW GLOBAL STATUS WHERE Variable_name IN ({names})"
    text = run(host, node, sourced(DATABASE_ENV, f'$MYSQL_CMD "--defaults-extra-file='
                                   f'$MYSQL_DEFAULTS_FILE" -N -B -e {shlex.quote(query)}'))
    return status_variables(text)


def test_galera_cluster_size(node: Node, host: testinfra.host.Host,
                             platform: Inventory) -> None:
    size = wsrep(host, node).get("wsrep_cluster_size", "<none>")
    assert size == str(platform.size(ROLE)), (
        f"{node}: wsrep_cluster_size expected {platform.size(ROLE)} (database size), "
        f"found {size}")


def test_galera_node_synced_and_primary(node: Node, host: testinfra.host.Host) -> None:
    status = wsrep(host, node)
    found = (status.get("wsrep_local_state_comment"), status.get("wsrep_cluster_status"))
    assert found == ("Synced", "Primary"), (
        f"{node}: wsrep state expected Synced/Primary, found {found[0]}/{found[1]}")


def test_clustercheck_answers_200(node: Node, host: testinfra.host.Host) -> None:
    answer = host.run(f"curl -s --noproxy '*' --max-time 5 -w '\\n%{{http_code}}' "
                      f"http://{node.address}:{CLUSTERCHECK}/")
    body, _, code = answer.stdout.strip().rpartition("\n")
    assert code == "200", (f"{node}: clustercheck on {CLUSTERCHECK} expected 200, "
                           f"found {code or 'no answer'} {body.strip()}")


def test_discovery_key_present(node: Node, host: testinfra.host.Host,
                               platform: Inventory) -> None:
    members = run(host, node, sourced(
        DATABASE_ENV, "/opt/paasmas/bin/paasmas-db-discovery members")).split()
    expected = sorted(n.address for n in platform.nodes(ROLE))
    assert node.address in members, (
        f"{node}: discovery key in etcd expected for {node.address}, found live members "
        f"{members} (expected {expected})")


def test_application_login_through_the_load_balancer(node: Node, host: testinfra.host.Host,
                                                     platform: Inventory) -> None:
    """From this node, as any client would: the app user through database_host:database_port
    lands on a Synced node. The credentials reach the client through its stdin, never argv."""
    user, password = platform.get(outputs.DATABASE_USER), platform.get(outputs.DATABASE_PASSWORD)
    target = f"-h {platform.get(outputs.DATABASE_HOST)} -P {platform.get(outputs.DATABASE_PORT)}"
    query = ("SELECT @@wsrep_node_address, DATABASE(); "
             "SHOW STATUS LIKE 'wsrep_local_state_comment'")
    options = f"[client]\\nuser={user}\\npassword={password}\\n"
    script = (f"f=$(mktemp) && printf '{options}' >\"$f\" && "
              f"$MYSQL_CMD --defaults-extra-file=/dev/stdin {target} "
              f"-D {platform.get(outputs.DATABASE_NAME)} --connect-timeout=5 -N -B "
              f"-e {shlex.quote(query)} <\"$f\"; rc=$?; rm -f \"$f\"; exit $rc")
    result = host.run(sourced(DATABASE_ENV, script))
    assert result.rc == 0, (f"{node}: {user} through the load balancer {target} expected to log "
                            f"in, found: {result.stderr.strip()[-300:]}")
    lines = result.stdout.strip().splitlines()
    landed = lines[0].split("\t")[0] if lines else "?"
    state = status_variables("\n".join(lines[1:])).get("wsrep_local_state_comment")
    assert state == "Synced", (f"{node}: the load balancer expected to forward to a Synced "
                               f"node, found {landed} in state {state}")
