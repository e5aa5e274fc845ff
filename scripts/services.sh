#!/usr/bin/env bash
# Starts the real services the tests need, idempotently: MariaDB, a MariaDB primary/replica pair
# (ports 3307/3308, GTID replication; scripts/lib/mariadb-replica.sh), Redis, RabbitMQ and a
# one-host Ceph cluster with the RADOS Gateway (S3). Debian 12, as root, works without systemd.
#
#   bash scripts/services.sh [up]   check each service, install/start what does not answer, wait
#                                   until it does; then write scripts/.env.test
#   bash scripts/services.sh down   stop the Ceph daemons and the MariaDB pair (the MariaDB on 3306,
#                                   Redis and RabbitMQ are left alone)
#   bash scripts/services.sh status say which services answer
#   bash scripts/services.sh gc     abort test-bucket multipart uploads older than 2 h (left by killed
#                                   runs), then free the space of deleted S3 objects now (RGW GC)
#
# Env: STRATUS_CEPH_DIR (default /var/lib/stratus/ceph), CEPH_OSDS (default 1; 3 for the fault
# tests: a separate cluster in "$STRATUS_CEPH_DIR-3osd" with pool size 3 / min size 2).
set -euo pipefail

SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ENV_FILE=$SCRIPTS_DIR/.env.test
for f in common mariadb mariadb-replica redis rabbitmq s3 ceph; do
  # shellcheck source=/dev/null
  . "$SCRIPTS_DIR/lib/$f.sh"
done

SERVICES=(mariadb replica redis rabbitmq ceph)

write_env_file() {
  cat >"$ENV_FILE.tmp" <<ENV
TEST_DATABASE_URL=mysql://root@127.0.0.1:3306/test
TEST_DATABASE_PRIMARY_URL=$REPLICA_PRIMARY_URL
TEST_DATABASE_REPLICA_URL=$REPLICA_REPLICA_URL
TEST_REDIS_URL=redis://127.0.0.1:6379
TEST_AMQP_URL=amqp://guest:guest@127.0.0.1:5672
TEST_S3_ENDPOINT=$CEPH_S3_ENDPOINT
TEST_S3_REGION=us-east-1
TEST_S3_ACCESS_KEY=$CEPH_S3_ACCESS_KEY
TEST_S3_SECRET_KEY=$CEPH_S3_SECRET_KEY
TEST_S3_BUCKET=${CEPH_S3_BUCKETS[0]}
TEST_S3_BUCKET_2=${CEPH_S3_BUCKETS[1]}
ENV
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

cmd_up() {
  [ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts daemons)"
  local total svc t0
  total=$(now)
  for svc in "${SERVICES[@]}"; do
    t0=$(now) INSTALLED=0 ACTION=""
    "${svc}_up"
    printf '%-9s %-18s %6ss\n' "$svc" "$ACTION" "$(elapsed "$t0")"
  done
  write_env_file
  printf '%-9s %-18s %6ss\n' total "(${ENV_FILE#"$PWD"/})" "$(elapsed "$total")"
}

cmd_status() {
  local svc rc=0
  for svc in "${SERVICES[@]}"; do
    if "${svc}_status"; then printf '%-9s up\n' "$svc"; else printf '%-9s DOWN\n' "$svc"; rc=1; fi
  done
  printf '%-9s %s (CEPH_OSDS=%s)\n' "" "$CEPH_DIR" "$CEPH_OSDS"
  return "$rc"
}

# One run at a time (two test runners starting Ceph together would race on the data dir).
# Daemons started below close fd 9 (9>&-): a daemon inheriting it would hold the lock forever.
exec 9>/tmp/stratus-services.lock
flock -w 900 9 || die "another scripts/services.sh still runs after 900 s (lock /tmp/stratus-services.lock)"

case ${1:-up} in
  up) cmd_up ;;
  down) ceph_down; replica_down ;;
  status) cmd_status ;;
  gc) ceph_gc ;;
  *) die "usage: bash scripts/services.sh [up|down|status|gc]" ;;
esac
