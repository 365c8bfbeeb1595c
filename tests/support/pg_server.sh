#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# A throwaway PostgreSQL server for tests and benchmarks.
#
#   pg_server.sh start STATE_DIR [--durable]   start; prints the admin DSN
#   pg_server.sh stop STATE_DIR                stop and delete the cluster
#   pg_server.sh dsn STATE_DIR                 print the admin DSN again
#   pg_server.sh pause STATE_DIR               stop the server, keeping the cluster
#   pg_server.sh resume STATE_DIR              start it again (same port, same data)
#
# The cluster is initdb'd into a fresh temporary folder, listens only on
# 127.0.0.1 (no Unix socket) on a free port, and has TLS on with a CA and a
# server certificate made here with OpenSSL (CN=localhost, SAN DNS:localhost),
# so clients can use sslmode=verify-full with sslrootcert=STATE_DIR/ca.crt
# and host=localhost. Every login uses SCRAM; the superuser's random password
# is in STATE_DIR/pgpass, which the DSN names (passfile=...), so no password
# appears in a DSN, a log or a process list.
#
# initdb and postgres refuse to run as root. When run as root (CI), the
# server runs as $MMDX_PG_USER (default: nobody) through runuser, and every
# file the server needs lives in the temporary folder owned by that user.
# As a normal user the server runs as that user.
#
# STATE_DIR (created if needed) receives: dsn, pgpass, ca.crt, port,
# datadir (path of the cluster's temporary folder), server.log (copied at stop).
# By default fsync is off (a test cluster is thrown away); --durable keeps
# PostgreSQL's defaults, for benchmarks.
set -eu

PGBIN=${MMDX_PG_BIN:-}
if [ -z "$PGBIN" ]; then
    for v in 17 16 15 14 13; do
        if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then PGBIN=/usr/lib/postgresql/$v/bin; break; fi
    done
fi
if [ -z "$PGBIN" ] && command -v initdb >/dev/null 2>&1; then PGBIN=$(dirname "$(command -v initdb)"); fi
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    echo "pg_server.sh: PostgreSQL server binaries not found (set MMDX_PG_BIN)" >&2
    exit 1
fi

die() { echo "pg_server.sh: $*" >&2; exit 1; }

usage() { echo "usage: pg_server.sh start|stop|dsn|pause|resume STATE_DIR [--durable]" >&2; exit 2; }

[ $# -ge 2 ] || usage
cmd=$1
state=$2
durable=0
[ "${3:-}" = "--durable" ] && durable=1

as_server() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$SERVER_USER" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
        || echo $((20000 + $$ % 20000))
}

do_stop() {
    [ -f "$state/datadir" ] || return 0
    dir=$(cat "$state/datadir")
    if [ -d "$dir/data" ]; then
        SERVER_USER=$(stat -c %U "$dir/data")
        as_server "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
        cp "$dir/server.log" "$state/server.log" 2>/dev/null || true
    fi
    case "$dir" in
        */mmdx-pg-*) rm -rf "$dir" ;;
    esac
    rm -f "$state/datadir" "$state/dsn" "$state/port"
}

# pause/resume: the fault tests stop a private server mid-run and bring it back.
do_pause() {
    [ -f "$state/datadir" ] || die "no server in $state"
    dir=$(cat "$state/datadir")
    SERVER_USER=$(stat -c %U "$dir/data")
    as_server "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || die "pg_ctl stop failed"
}

do_resume() {
    [ -f "$state/datadir" ] || die "no server in $state"
    dir=$(cat "$state/datadir")
    SERVER_USER=$(stat -c %U "$dir/data")
    as_server "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { tail -20 "$dir/server.log" >&2 2>/dev/null || true; die "the server did not start again"; }
}

do_start() {
    mkdir -p "$state"
    state=$(cd "$state" && pwd)
    do_stop
    SERVER_USER=$(id -un)
    if [ "$(id -u)" -eq 0 ]; then
        SERVER_USER=${MMDX_PG_USER:-nobody}
        id "$SERVER_USER" >/dev/null 2>&1 || die "server user $SERVER_USER does not exist (set MMDX_PG_USER)"
    fi
    base=${TMPDIR:-/tmp}
    # The server user must be able to reach its folder (a root-only TMPDIR would not do).
    if [ "$(id -u)" -eq 0 ] && ! runuser -u "$SERVER_USER" -- test -x "$base" 2>/dev/null; then
        base=/tmp
    fi
    dir=$(mktemp -d "$base/mmdx-pg-XXXXXX")
    chmod 700 "$dir"
    echo "$dir" > "$state/datadir"

    umask 077
    pw=$(openssl rand -hex 24)
    printf '%s\n' "$pw" > "$dir/pwfile"

    # CA and server certificate (P-256, short-lived).
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=mmdx test CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" >/dev/null 2>&1 \
        || die "openssl: cannot create the test CA"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1 \
        || die "openssl: cannot create the server key"
    printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$dir/ext.cnf"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 2 -extfile "$dir/ext.cnf" -out "$dir/server.crt" >/dev/null 2>&1 \
        || die "openssl: cannot sign the server certificate"
    rm -f "$dir/ca.key" "$dir/server.csr" "$dir/ext.cnf" "$dir/ca.srl"
    umask 022
    cp "$dir/ca.crt" "$state/ca.crt"
    chmod 644 "$state/ca.crt"

    if [ "$(id -u)" -eq 0 ]; then
        chown -R "$SERVER_USER" "$dir"
    fi

    as_server "$PGBIN/initdb" -D "$dir/data" -U mmdx_admin --pwfile="$dir/pwfile" \
        --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || as_server "$PGBIN/initdb" -D "$dir/data" -U mmdx_admin --pwfile="$dir/pwfile" \
            --auth=scram-sha-256 -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

    cat > "$dir/data/pg_hba.conf" <<EOF
# loopback only, passwords always
hostssl all all 127.0.0.1/32 scram-sha-256
host    all all 127.0.0.1/32 scram-sha-256
EOF
    if [ $durable -eq 1 ]; then sync_opts=""; else
        sync_opts="fsync = off
synchronous_commit = off
full_page_writes = off"
    fi

    tries=0
    while :; do
        port=$(free_port)
        cat > "$dir/data/postgresql.auto.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 60
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
password_encryption = 'scram-sha-256'
log_min_messages = warning
$sync_opts
EOF
        if as_server "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
            break
        fi
        tries=$((tries + 1))
        if [ $tries -ge 5 ]; then
            cat "$dir/server.log" >&2 2>/dev/null || true
            die "the server did not start"
        fi
    done

    printf '127.0.0.1:%s:*:mmdx_admin:%s\nlocalhost:%s:*:mmdx_admin:%s\n' "$port" "$pw" "$port" "$pw" > "$state/pgpass"
    chmod 600 "$state/pgpass"
    rm -f "$dir/pwfile"
    echo "$port" > "$state/port"
    echo "host=127.0.0.1 port=$port user=mmdx_admin dbname=postgres passfile=$state/pgpass connect_timeout=10" > "$state/dsn"
    cat "$state/dsn"
}

case "$cmd" in
    start) do_start ;;
    stop) do_stop ;;
    pause) do_pause ;;
    resume) do_resume ;;
    dsn) [ -f "$state/dsn" ] || die "no server in $state"; cat "$state/dsn" ;;
    *) usage ;;
esac
