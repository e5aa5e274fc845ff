# shellcheck shell=bash
# RabbitMQ on 127.0.0.1:5672 with the default guest/guest user (allowed from localhost).
# Sourced by scripts/services.sh; needs scripts/lib/common.sh.

rabbitmq_answers() { port_open 5672 && timeout 20 rabbitmq-diagnostics -q ping >/dev/null 2>&1; }
rabbitmq_status() { command -v rabbitmq-diagnostics >/dev/null 2>&1 && rabbitmq_answers; }

# rabbitmq_up: sets ACTION.
rabbitmq_up() {
  if rabbitmq_status; then ACTION="already running"; return 0; fi
  ensure_installed rabbitmq-server rabbitmq-server
  # The node may be booting already (apt postinst, or an earlier run): only start it if it is not.
  if ! timeout 20 rabbitmq-diagnostics -q status >/dev/null 2>&1; then
    rabbitmq-server -detached </dev/null >/dev/null 2>&1 9>&- || die "rabbitmq-server -detached failed; see /var/log/rabbitmq/"
  fi
  wait_for 120 rabbitmq_answers ||
    die "RabbitMQ did not answer on 127.0.0.1:5672 within 120 s; see /var/log/rabbitmq/"
  ACTION=$(started_action)
}
