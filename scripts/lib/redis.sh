# shellcheck shell=bash
# Redis on 127.0.0.1:6379, no persistence. Sourced by scripts/services.sh; needs scripts/lib/common.sh.

redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
redis_status() { command -v redis-cli >/dev/null 2>&1 && redis_answers; }

# redis_up: sets ACTION.
redis_up() {
  if redis_status; then ACTION="already running"; return 0; fi
  ensure_installed redis-server redis-server
  command -v redis-cli >/dev/null 2>&1 || ensure_installed redis-cli redis-tools
  port_open 6379 && die "port 6379 is taken by something that does not answer redis-cli ping"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log </dev/null >/dev/null 2>&1 9>&- ||
    die "redis-server did not start; see /var/log/redis/ci.log"
  wait_for 30 redis_answers || die "Redis did not answer PING on 127.0.0.1:6379 within 30 s; see /var/log/redis/ci.log"
  ACTION=$(started_action)
}
