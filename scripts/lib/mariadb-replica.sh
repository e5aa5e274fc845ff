# shellcheck shell=bash
# A MariaDB primary/replica pair for the replica tests, separate from the system MariaDB on 3306
# (other tests use that one; it is never touched here):
#
#   primary  127.0.0.1:3307  /var/lib/stratus/mariadb-primary  log_bin, server_id=1, ROW, GTID strict
#   replica  127.0.0.1:3308  /var/lib/stratus/mariadb-replica  server_id=2, read_only, replicating
#                                                              from the primary with GTID (slave_pos)
#
# Both: root@127.0.0.1 / root@localhost with an empty password; socket, pid file and error log in
# the data dir; options on the command line only (--no-defaults: /etc/mysql is the system server's).
# Account set-up runs with sql_log_bin=0, so only databases and data replicate (`test` included).
# Re-runs: both running and replicating -> nothing; data dirs present but stopped -> start them and
# (re)start replication; a data dir without its `.ready` marker (an interrupted set-up) is rebuilt.
# Sourced by scripts/services.sh; needs scripts/lib/common.sh.

REPLICA_BASE_DIR=${STRATUS_MARIADB_PAIR_DIR:-/var/lib/stratus}
REPLICA_PRIMARY_DIR=$REPLICA_BASE_DIR/mariadb-primary
REPLICA_REPLICA_DIR=$REPLICA_BASE_DIR/mariadb-replica
REPLICA_PRIMARY_PORT=3307
REPLICA_REPLICA_PORT=3308
REPLICA_USER=stratus_repl
REPLICA_PASSWORD=stratus-repl-test
REPLICA_PRIMARY_URL=mysql://root@127.0.0.1:$REPLICA_PRIMARY_PORT/test
REPLICA_REPLICA_URL=mysql://root@127.0.0.1:$REPLICA_REPLICA_PORT/test

# pair_sql PORT SQL...: run SQL as root over TCP (no database selected).
pair_sql() { local port=$1; shift; mariadb -h127.0.0.1 -P"$port" -uroot --connect-timeout=2 -N -B -e "$*"; }
pair_answers() { pair_sql "$1" 'select 1' >/dev/null 2>&1; }            # PORT
pair_alive() { pid_alive "$1/mysqld.pid" mariadbd; }                      # DIR
pair_socket_sql() { mariadb --protocol=socket -S "$1/mysqld.sock" -uroot --connect-timeout=2 -e "$2"; } # DIR SQL

# replica_threads_running: IO and SQL threads of the replica both say Yes.
replica_threads_running() {
  local status
  status=$(mariadb -h127.0.0.1 -P"$REPLICA_REPLICA_PORT" -uroot --connect-timeout=2 -e 'SHOW SLAVE STATUS\G' 2>/dev/null) || return 1
  grep -q '^ *Slave_IO_Running: Yes$' <<<"$status" && grep -q '^ *Slave_SQL_Running: Yes$' <<<"$status"
}

replica_status() {
  pair_alive "$REPLICA_PRIMARY_DIR" && pair_alive "$REPLICA_REPLICA_DIR" &&
    pair_answers "$REPLICA_PRIMARY_PORT" && pair_answers "$REPLICA_REPLICA_PORT" && replica_threads_running
}

# pair_start DIR PORT ROLE-OPTIONS...: start one mariadbd unless its pid file names a live one.
# --pidfile makes start-stop-daemon look at this instance only (not the system server on 3306).
pair_start() {
  local dir=$1 port=$2; shift 2
  if ! pair_alive "$dir"; then
    port_open "$port" && die "port $port is taken by something that is not the mariadbd of $dir"
    rm -f "$dir/mysqld.pid" "$dir/mysqld.sock"
    start-stop-daemon --start --oknodo --background --pidfile "$dir/mysqld.pid" --exec /usr/sbin/mariadbd -- \
      --no-defaults --user=mysql --datadir="$dir" --port="$port" --bind-address=127.0.0.1 \
      --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
      --innodb-buffer-pool-size=64M --max-connections=300 "$@" </dev/null >/dev/null 2>&1 9>&- ||
      die "start-stop-daemon could not start mariadbd for $dir"
  fi
  wait_for 60 pair_answers "$port" || {
    # A fresh data dir lets root in only through the unix socket: allow TCP with no password.
    wait_for 30 pair_socket_sql "$dir" 'select 1' || die "mariadbd of $dir did not answer within 90 s; see $dir/error.log"
    pair_root_over_tcp "$dir"
    wait_for 30 pair_answers "$port" || die "mariadbd of $dir answers on its socket but not on 127.0.0.1:$port; see $dir/error.log"
  }
}

# pair_root_over_tcp DIR: root@localhost and root@127.0.0.1 with an empty password (not binlogged).
pair_root_over_tcp() {
  pair_socket_sql "$1" "SET sql_log_bin=0;
    ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket;
    CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;
    FLUSH PRIVILEGES;" || die "could not give root an empty password on $1"
}

# pair_stop DIR: SIGTERM the instance and wait (SIGKILL after 30 s).
pair_stop() {
  local dir=$1 pid
  pair_alive "$dir" || return 0
  pid=$(tr -dc '0-9' <"$dir/mysqld.pid")
  kill -TERM "$pid" 2>/dev/null || return 0
  wait_for 30 bash -c "! kill -0 $pid 2>/dev/null || grep -q '^[^)]*) Z' /proc/$pid/stat" ||
    { log "mariadbd $pid ($dir) ignored SIGTERM; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
}

# pair_init DIR: a fresh data dir (anything left from an interrupted set-up is removed first).
pair_init() {
  local dir=$1
  rm -rf "$dir"
  mkdir -p "$dir" && chown mysql:mysql "$dir"
  log "mariadb-install-db --datadir=$dir"
  mariadb-install-db --no-defaults --user=mysql --datadir="$dir" --auth-root-authentication-method=normal \
    --skip-test-db >"$REPLICA_BASE_DIR/$(basename "$dir")-install.log" 2>&1 ||
    die "mariadb-install-db failed; see $REPLICA_BASE_DIR/$(basename "$dir")-install.log"
}

primary_start() {
  pair_start "$REPLICA_PRIMARY_DIR" "$REPLICA_PRIMARY_PORT" --server-id=1 \
    --log-bin="$REPLICA_PRIMARY_DIR/mariadb-bin" --binlog-format=ROW --gtid-strict-mode=1
}

replica_start_server() {
  pair_start "$REPLICA_REPLICA_DIR" "$REPLICA_REPLICA_PORT" --server-id=2 --read-only=1 \
    --relay-log="$REPLICA_REPLICA_DIR/relay-bin" --gtid-strict-mode=1
}

# replica_configure: point the replica at the primary (GTID, slave_pos) and start replicating.
replica_configure() {
  pair_sql "$REPLICA_REPLICA_PORT" "STOP SLAVE;
    CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$REPLICA_PRIMARY_PORT,
      MASTER_USER='$REPLICA_USER', MASTER_PASSWORD='$REPLICA_PASSWORD',
      MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
    START SLAVE;" || die "CHANGE MASTER / START SLAVE failed on the replica"
}

replica_wait_running() {
  wait_for 60 replica_threads_running || {
    mariadb -h127.0.0.1 -P"$REPLICA_REPLICA_PORT" -uroot -e 'SHOW SLAVE STATUS\G' >&2 || true
    die "replication did not reach IO=Yes / SQL=Yes within 60 s; see $REPLICA_REPLICA_DIR/error.log"
  }
}

# replica_up: sets ACTION.
replica_up() {
  if replica_status; then ACTION="already running"; return 0; fi
  ensure_installed mariadbd mariadb-server
  mkdir -p "$REPLICA_BASE_DIR"
  local did=()
  # Primary: a set-up that never finished is redone, and then the replica must start over too.
  if [ ! -f "$REPLICA_PRIMARY_DIR/.ready" ]; then
    pair_stop "$REPLICA_PRIMARY_DIR"; pair_stop "$REPLICA_REPLICA_DIR"
    pair_init "$REPLICA_PRIMARY_DIR"
    rm -rf "$REPLICA_REPLICA_DIR"
    primary_start
    pair_root_over_tcp "$REPLICA_PRIMARY_DIR"
    pair_sql "$REPLICA_PRIMARY_PORT" "SET sql_log_bin=0;
      CREATE USER IF NOT EXISTS '$REPLICA_USER'@'127.0.0.1' IDENTIFIED BY '$REPLICA_PASSWORD';
      GRANT REPLICATION SLAVE ON *.* TO '$REPLICA_USER'@'127.0.0.1';" || die "could not create the replication user"
    # Binlogged: the replica creates it too.
    pair_sql "$REPLICA_PRIMARY_PORT" 'CREATE DATABASE IF NOT EXISTS test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin' ||
      die "could not create database test on the primary"
    touch "$REPLICA_PRIMARY_DIR/.ready"
    did+=(primary:initialised)
  elif ! pair_alive "$REPLICA_PRIMARY_DIR" || ! pair_answers "$REPLICA_PRIMARY_PORT"; then
    primary_start
    did+=(primary:started)
  fi
  # Replica: a fresh one replays the primary's whole binlog (never purged here) from GTID 0.
  if [ ! -f "$REPLICA_REPLICA_DIR/.ready" ]; then
    pair_stop "$REPLICA_REPLICA_DIR"
    pair_init "$REPLICA_REPLICA_DIR"
    replica_start_server
    pair_root_over_tcp "$REPLICA_REPLICA_DIR"
    replica_configure
    replica_wait_running
    touch "$REPLICA_REPLICA_DIR/.ready"
    did+=(replica:initialised)
  else
    if ! pair_alive "$REPLICA_REPLICA_DIR" || ! pair_answers "$REPLICA_REPLICA_PORT"; then
      replica_start_server
      did+=(replica:started)
    fi
    # It starts replicating by itself (master.info is kept); a STOP SLAVE left by someone is undone
    # (START SLAVE on running threads is a harmless note).
    if ! replica_threads_running; then
      pair_sql "$REPLICA_REPLICA_PORT" 'START SLAVE' >/dev/null 2>&1 || true
      wait_for 10 replica_threads_running || replica_configure
      did+=(replication:restarted)
    fi
  fi
  replica_wait_running
  wait_for 30 pair_sql "$REPLICA_REPLICA_PORT" 'USE test' || die "database test did not reach the replica"
  ACTION=$(IFS=,; echo "${did[*]:-checked}")
  [ "$INSTALLED" = 1 ] && ACTION="installed,$ACTION"
  return 0
}

replica_down() {
  pair_stop "$REPLICA_REPLICA_DIR"
  pair_stop "$REPLICA_PRIMARY_DIR"
}
