#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for feedloom's tests, and prints the
# line to export. Source it (CI does), or run it as a developer:
#
#   source .ci/postgres.sh          # installs postgresql if missing (Debian, as root),
#                                   # starts a cluster, exports FEEDLOOM_TEST_POSTGRES,
#                                   # and stops it when the shell exits (trap)
#   cargo test --test postgres --test multinode
#
# The cluster lives in a temp folder, owned by an unprivileged user (PostgreSQL
# refuses to run as root), listens on a free port on 127.0.0.1 and on a unix
# socket in that folder, trusts local logins, and is removed at exit.

pg_bin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return 0; }
    done
    return 1
}

# A port nothing listens on (bash only: CI images may lack python), below
# Linux's ephemeral range (32768-60999), where the tests' and benches' own
# client connections would otherwise hold it and make the bind fail.
free_port() {
    local p i
    for i in $(seq 100); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

feedloom_pg_start() {
    local bin
    if ! bin=$(pg_bin); then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "postgres.sh: installing postgresql" >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1 ||
                { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } ||
                { echo "postgres.sh: cannot install postgresql" >&2; return 1; }
            bin=$(pg_bin) || return 1
        else
            echo "postgres.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2
            return 1
        fi
    fi
    local user=${FEEDLOOM_PG_OS_USER:-$(id -un)}
    if [ "$(id -u)" = 0 ]; then
        user=${FEEDLOOM_PG_OS_USER:-feedloom-pg}
        id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
    fi
    local dir
    dir=$(mktemp -d /tmp/feedloom-pg.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && chown "$user" "$dir"
    local as=()
    [ "$(id -u)" = 0 ] && as=(runuser -u "$user" --)
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U feedloom --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; return 1; }
    # Another port if the one found was taken meanwhile (a race with any other
    # program on the machine).
    local port attempt
    for attempt in 1 2 3 4 5; do
        port=$(free_port) || { echo "postgres.sh: no free port found" >&2; return 1; }
        rm -f "$dir/server.log"
        "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=128MB" \
            start >/dev/null && break
        if [ "$attempt" = 5 ] || ! grep -q "could not bind\|could not create any TCP/IP sockets" "$dir/server.log"; then
            cat "$dir/server.log" >&2
            return 1
        fi
        echo "postgres.sh: port $port was taken; trying another" >&2
    done
    FEEDLOOM_PG_DIR=$dir
    FEEDLOOM_PG_BIN=$bin
    FEEDLOOM_PG_AS=("${as[@]}")
    export FEEDLOOM_TEST_POSTGRES="postgres://feedloom@127.0.0.1:$port/postgres"
    trap feedloom_pg_stop EXIT
    echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') at $FEEDLOOM_TEST_POSTGRES (data in $dir)" >&2
}

feedloom_pg_stop() {
    [ -n "${FEEDLOOM_PG_DIR:-}" ] || return 0
    "${FEEDLOOM_PG_AS[@]}" "$FEEDLOOM_PG_BIN/pg_ctl" -D "$FEEDLOOM_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$FEEDLOOM_PG_DIR"
    FEEDLOOM_PG_DIR=
}

feedloom_pg_start
