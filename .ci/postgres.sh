#!/usr/bin/env bash
# Install (if needed) and start a throwaway PostgreSQL server on 127.0.0.1, for the tests marked
# to run against PostgreSQL. Prints the admin URL on stdout; exits non-zero if it cannot.
set -euo pipefail
PORT=${PIPES_PG_PORT:-54329}
DIR=${PIPES_PG_DIR:-/tmp/pipes-pg}
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  else
    echo "postgresql is not installed and we are not root" >&2; exit 1
  fi
fi
BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)")
RUN_AS=()
[ "$(id -u)" = 0 ] && RUN_AS=(runuser -u postgres --)
if ! "${BIN}/pg_isready" -h 127.0.0.1 -p "$PORT" -q 2>/dev/null; then
  rm -rf "$DIR"; mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$DIR"
  "${RUN_AS[@]}" "$BIN/initdb" -D "$DIR/data" -A trust -U postgres >&2
  "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
    -o "-k $DIR -p $PORT -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
fi
echo "postgresql+psycopg://postgres@127.0.0.1:${PORT}/postgres"
