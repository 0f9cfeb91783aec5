# Sourced by the bench scripts: a throwaway database of either backend, removed on exit.
#   db_start sqlite|postgres DIR   sets DB_URL: a SQLite file in DIR, or a new PostgreSQL cluster
#                                 in a temp dir of its own (the postgres user must reach it)
#   db_stop                       stops the cluster and removes it, if one was started
#   start_server FILE             starts `$bin server` on DB_URL (see below); sets URL
#   bench_work                    sets $work (a temp dir) and $pids (servers to kill); on exit
#                                 kills them, stops the database and removes $work
#   autogroup_off                 turns the kernel's autogroup scheduling off until exit (as
#                                 root; BENCH_AUTOGROUP=keep leaves it), and says which it is
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

# Starts `$bin server` on DB_URL with $work/pepper, its output in FILE (its pid kept for the
# cleanup: not in a subshell), and sets URL to its address.
start_server() {
  local out=$1
  "$bin" server --listen 127.0.0.1:0 --database "$DB_URL" --pepper-file "$work/pepper" \
    >"$out" 2>"$out.err" &
  pids+=($!)
  for _ in $(seq 200); do grep -q 'http://' "$out" 2>/dev/null && break; sleep 0.05; done
  URL=$(grep -o 'http://[0-9.:]*' "$out" | head -1)
}

bench_work() {
  work=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  db_stop
  [ -n "$AUTOGROUP_WAS" ] && echo "$AUTOGROUP_WAS" >/proc/sys/kernel/sched_autogroup_enabled
  rm -rf "$work"
}

# PostgreSQL puts each of its processes in a session of its own (setsid), and with the kernel's
# autogroup scheduling (kernel.sched_autogroup_enabled = 1, Debian's default) each session is a
# scheduling group of its own. A backend that is idle most of the time then wakes with little
# weight beside the busy groups of a load on the same host: on this 2-core machine, under wrk,
# PostgreSQL's backends sat runnable on the run queue for 0.7-1.8 s before they could answer
# `SELECT 1` (/proc/PID/schedstat; bench/pg-stall.sh). A database on a host of its own does not
# compete with the load at all; without autogroups it competes process by process, which is
# closer. The scripts that measure a bound under load call this; their output says which it was.
AUTOGROUP_WAS=""
AUTOGROUP_STATE=""
autogroup_off() {
  local knob=/proc/sys/kernel/sched_autogroup_enabled
  if [ ! -e "$knob" ]; then
    AUTOGROUP_STATE="not in this kernel"
  elif [ "$(cat "$knob")" = 0 ]; then
    AUTOGROUP_STATE=off
  elif [ "${BENCH_AUTOGROUP:-off}" = keep ] || [ "$(id -u)" != 0 ]; then
    AUTOGROUP_STATE=on
  else
    AUTOGROUP_WAS=$(cat "$knob")
    echo 0 >"$knob"
    AUTOGROUP_STATE="off for this run"
  fi
}
