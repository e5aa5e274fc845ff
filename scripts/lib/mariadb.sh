# shellcheck shell=bash
# MariaDB on 127.0.0.1:3306, root with an empty password over TCP, database `test`.
# Sourced by scripts/services.sh; needs scripts/lib/common.sh.

mariadb_answers() { mariadb -h127.0.0.1 -P3306 -uroot --connect-timeout=2 -e 'select 1' >/dev/null 2>&1; }
mariadb_socket_answers() { mariadb --protocol=socket -uroot --connect-timeout=2 -e 'select 1' >/dev/null 2>&1; }
mariadb_status() { mariadb_answers; }

# mariadb_up: sets ACTION.
mariadb_up() {
  if command -v mariadb >/dev/null 2>&1 && mariadb_answers; then
    ACTION="already running"
  else
    ensure_installed mariadbd mariadb-server
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    if [ ! -d /var/lib/mysql/mysql ]; then
      log "mariadb-install-db"
      mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/var/log/mariadb-install-db.log 2>&1 ||
        die "mariadb-install-db failed; see /var/log/mariadb-install-db.log"
    fi
    # --oknodo: no-op when the apt postinst (or anyone) already started it.
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd </dev/null >/dev/null 2>&1 9>&- ||
      die "start-stop-daemon could not start /usr/sbin/mariadbd"
    wait_for 60 mariadb_answers || {
      # A fresh install lets root in only through the unix socket: allow TCP with no password.
      wait_for 60 mariadb_socket_answers ||
        die "MariaDB did not answer within 60 s (socket /run/mysqld/mysqld.sock); see /var/log/mysql/ or mariadbd's stderr"
      mariadb --protocol=socket -uroot -e \
        "ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket; FLUSH PRIVILEGES" ||
        die "could not give root@localhost an empty password"
      wait_for 30 mariadb_answers || die "MariaDB answers on its socket but not on 127.0.0.1:3306 as root (check bind-address / skip-networking)"
    }
    ACTION=$(started_action)
  fi
  mariadb -h127.0.0.1 -P3306 -uroot -e 'CREATE DATABASE IF NOT EXISTS test' || die "could not create database test"
  mariadb_size_buffer_pool
}

# Debian's default InnoDB buffer pool is 128 MiB; search's trigram index alone takes ~4 KiB per
# item (100 000 items of one person in the search bench: ~400 MiB), and a pool smaller than the
# working set turns every index write and read into disk I/O (the bench's fill took 425 s instead
# of ~60). 1 GiB, resized online (MariaDB >= 10.2); a server already given more keeps it.
MARIADB_BUFFER_POOL_BYTES=${MARIADB_BUFFER_POOL_BYTES:-1073741824}
mariadb_size_buffer_pool() {
  local current
  current=$(mariadb -h127.0.0.1 -P3306 -uroot -N -e 'SELECT @@innodb_buffer_pool_size') || die "could not read innodb_buffer_pool_size"
  if [ "$current" -lt "$MARIADB_BUFFER_POOL_BYTES" ]; then
    mariadb -h127.0.0.1 -P3306 -uroot -e "SET GLOBAL innodb_buffer_pool_size = $MARIADB_BUFFER_POOL_BYTES" ||
      die "could not set innodb_buffer_pool_size to $MARIADB_BUFFER_POOL_BYTES"
  fi
}
