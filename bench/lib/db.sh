# Sourced by the bench scripts: a throwaway database of either backend, removed on exit.
#   db_start sqlite|postgres DIR   sets DB_URL: a SQLite file in DIR, or a new PostgreSQL cluster
#                                 in a temp dir of its own (the postgres user must reach it)
#   db_stop                       stops the cluster and removes it, if one was started
#   bench_work                    sets $work (a temp dir) and $pids (servers to kill); on exit
#                                 kills them, stops the database and removes $work
# PostgreSQL refuses to run as root: as root the cluster runs as the postgres user.

pg_bin_dir() {
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  else
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
  fi
}

DB_PG_DATA=""
db_start() {
  local backend=$1 dir=$2
  case "$backend" in
    sqlite)
      DB_URL="sqlite:$dir/keyward.db"
      ;;
    postgres)
      local bin port
      bin=$(pg_bin_dir)
      if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "PostgreSQL is needed: apt-get install postgresql-15" >&2
        return 1
      fi
      DB_AS_PG=()
      DB_PG_DIR=$(mktemp -d /tmp/keyward-bench-pg.XXXXXX)
      if [ "$(id -u)" = 0 ]; then
        chown postgres: "$DB_PG_DIR"
        DB_AS_PG=(runuser -u postgres --)
      fi
      # The real directory (initdb may be a link on PATH), where pgbench lives too.
      DB_PG_BIN=$(dirname "$(readlink -f "$bin/initdb")")
      DB_PG_DATA="$DB_PG_DIR/data"
      "${DB_AS_PG[@]}" "$bin/initdb" -D "$DB_PG_DATA" -A trust -U postgres -E UTF8 >/dev/null
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      "${DB_AS_PG[@]}" "$bin/pg_ctl" -D "$DB_PG_DATA" -l "$DB_PG_DIR/log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $DB_PG_DIR ${BENCH_PG_OPTIONS:-}" start >/dev/null
      DB_URL="postgres://postgres@127.0.0.1:$port/postgres"
      ;;
    *)
      echo "unknown backend $backend (sqlite or postgres)" >&2
      return 1
      ;;
  esac
}

db_stop() {
  if [ -n "$DB_PG_DATA" ]; then
    # BENCH_LOGS: a directory to keep PostgreSQL's log in (with BENCH_PG_OPTIONS, e.g.
    # "-c log_lock_waits=on -c log_checkpoints=on", to say what it did).
    [ -n "${BENCH_LOGS:-}" ] && mkdir -p "$BENCH_LOGS" && cp "$DB_PG_DIR/log" "$BENCH_LOGS/postgresql.log" 2>/dev/null
    "${DB_AS_PG[@]}" "$DB_PG_BIN/pg_ctl" -D "$DB_PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$DB_PG_DIR"
    DB_PG_DATA=""
  fi
}

bench_work() {
  work=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  db_stop
  rm -rf "$work"
}
