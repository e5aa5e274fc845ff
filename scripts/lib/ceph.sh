# shellcheck shell=bash
# A one-host Ceph cluster (mon, OSDs on BlueStore sparse files, mgr, RADOS Gateway) with the S3 API
# on http://127.0.0.1:7480, all state in one data dir outside the repo. See /work/shared/notes/ceph.md.
# Sourced by scripts/services.sh; needs scripts/lib/common.sh and scripts/lib/s3.sh.
#
# CEPH_OSDS (default 1) OSDs; with more than one the cluster lives in "<dir>-<N>osd" with pool size
# min(N,3) / min size 2, so the default cluster and the fault-test cluster don't overwrite each
# other. Both use the same ports, so only one of them runs at a time.

CEPH_OSDS=${CEPH_OSDS:-1}
[[ $CEPH_OSDS =~ ^[1-9]$ ]] || die "CEPH_OSDS must be 1..9, not '$CEPH_OSDS'"
CEPH_BASE_DIR=${STRATUS_CEPH_DIR:-/var/lib/stratus/ceph}
if [ "$CEPH_OSDS" = 1 ]; then CEPH_DIR=$CEPH_BASE_DIR; else CEPH_DIR=$CEPH_BASE_DIR-${CEPH_OSDS}osd; fi
export CEPH_CONF=$CEPH_DIR/ceph.conf
CEPH_RGW_PORT=7480
CEPH_S3_ENDPOINT=http://127.0.0.1:$CEPH_RGW_PORT
CEPH_S3_UID=stratus-test
CEPH_S3_ACCESS_KEY=stratus-test-access
CEPH_S3_SECRET_KEY=stratus-test-secret-0123456789abcdef
CEPH_S3_BUCKETS=(stratus-test stratus-test-2)

# Every data dir this script may have created (for down/status, whatever CEPH_OSDS says now).
ceph_all_dirs() {
  local d
  for d in "$CEPH_BASE_DIR" "$CEPH_BASE_DIR"-?osd; do [ -f "$d/ceph.conf" ] && echo "$d"; done
  return 0
}

# ceph_daemons DIR: "name comm" per daemon of that cluster, in start order.
ceph_daemons() {
  local d=$1 n i
  echo "mon.a ceph-mon"
  n=$(cat "$d/osd-count" 2>/dev/null || echo 1)
  for ((i = 0; i < n; i++)); do echo "osd.$i ceph-osd"; done
  echo "mgr.x ceph-mgr"
  echo "client.rgw.a radosgw"
}

ceph_alive() { pid_alive "$1/run/$2.pid" "$3"; } # DIR NAME COMM

ceph_any_alive() { # DIR
  local name comm
  while read -r name comm; do ceph_alive "$1" "$name" "$comm" && return 0; done < <(ceph_daemons "$1")
  return 1
}

ceph_all_alive() { # DIR
  local name comm
  while read -r name comm; do ceph_alive "$1" "$name" "$comm" || return 1; done < <(ceph_daemons "$1")
}

ceph_rgw_answers() { [ "$(curl -s -o /dev/null -m 3 -w '%{http_code}' "$CEPH_S3_ENDPOINT/")" = 200 ]; }
ceph_mon_answers() { timeout 10 ceph -s --connect-timeout 5 >/dev/null 2>&1; }

ceph_buckets_exist() {
  local b
  for b in "${CEPH_S3_BUCKETS[@]}"; do [ "$(s3_call HEAD "/$b")" = 200 ] || return 1; done
}

# The cluster of CEPH_DIR serves S3 with the test user's buckets.
ceph_status() { [ -f "$CEPH_DIR/.ready" ] && ceph_all_alive "$CEPH_DIR" && ceph_buckets_exist; }

# ceph_start_daemon NAME COMM: start one daemon of CEPH_DIR unless it runs; non-zero if it could
# not. They daemonize themselves; setsid + redirects keep them off this script's session and pipes.
ceph_start_daemon() {
  local name=$1 comm=$2 type=${1%%.*} id=${1#*.}
  ceph_alive "$CEPH_DIR" "$name" "$comm" && return 0
  rm -f "$CEPH_DIR/run/$name.pid"
  case $type in
    client) setsid radosgw -n "$name" ;;
    *) setsid "ceph-$type" -i "$id" ;;
  esac </dev/null >>"$CEPH_DIR/log/$name.out" 2>&1 9>&- ||
    { log "$comm $name failed to start; see $CEPH_DIR/log/$name.log and $name.out"; return 1; }
}

# ceph_stop_dir DIR: SIGTERM radosgw, then mgr, then the OSDs, then the mon (that order avoids
# ~30 s hangs on the next start); SIGKILL whatever is left after 15 s.
ceph_stop_dir() {
  local d=$1 group name comm pid pids
  for group in radosgw ceph-mgr ceph-osd ceph-mon; do
    pids=()
    while read -r name comm; do
      [ "$comm" = "$group" ] && ceph_alive "$d" "$name" "$comm" || continue
      pid=$(tr -dc '0-9' <"$d/run/$name.pid")
      kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    done < <(ceph_daemons "$d")
    for pid in "${pids[@]}"; do
      wait_for 15 bash -c "! kill -0 $pid 2>/dev/null || grep -q '^[^)]*) Z' /proc/$pid/stat" ||
        { log "pid $pid ($group) ignored SIGTERM; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
    done
  done
}

ceph_write_conf() { # FSID
  local d=$CEPH_DIR size=$((CEPH_OSDS < 3 ? CEPH_OSDS : 3)) min=$((CEPH_OSDS < 2 ? 1 : 2))
  cat >"$CEPH_CONF" <<CONF
# Written by scripts/services.sh; the whole cluster lives in $d.
[global]
fsid = $1
mon host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789]
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
run dir = $d/run
pid file = $d/run/\$name.pid
admin socket = $d/run/\$name.asok
log file = $d/log/\$name.log
keyring = $d/keyring
osd pool default size = $size
osd pool default min size = $min
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
mon data avail warn = 2
mon data avail crit = 1
# A sparse file: only what is written takes disk. 40 GiB for the one-OSD cluster leaves room for
# the 1 GiB tests and benchmarks between garbage collections; 10 GiB each for the 3-OSD fault cluster.
osd objectstore = bluestore
bluestore block create = true
bluestore block size = $(( (CEPH_OSDS == 1 ? 40 : 10) * 1073741824 ))
osd memory target = 1073741824

[mon]
mon data = $d/mon/\$id

[osd]
osd data = $d/osd/\$id
keyring = $d/osd/\$id/keyring

[mgr]
mgr data = $d/mgr/\$id
keyring = $d/mgr/\$id/keyring

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$CEPH_RGW_PORT
# Tests delete many objects; reclaim their space within minutes, not RGW's default 2 hours.
rgw gc obj min wait = 300
rgw gc processor period = 300
keyring = $d/rgw/keyring
CONF
}

# ceph_create: a new cluster in CEPH_DIR (wiping what was there), up to a running RGW.
ceph_create() {
  local d=$CEPH_DIR fsid i uuid secret id
  log "creating a Ceph cluster with $CEPH_OSDS OSD(s) in $d"
  [ -d "$d" ] && { ceph_stop_dir "$d"; rm -rf "$d"; }
  mkdir -p "$d"/{run,log,mon,osd,mgr/x,rgw}
  echo "$CEPH_OSDS" >"$d/osd-count"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  ceph_write_conf "$fsid"
  {
    ceph-authtool --create-keyring "$d/keyring" --gen-key -n mon. --cap mon 'allow *' &&
      ceph-authtool "$d/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
        --cap mds 'allow *' --cap mgr 'allow *' &&
      monmaptool --create --fsid "$fsid" --addv a '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]' "$d/monmap" &&
      ceph-mon --mkfs -i a --monmap "$d/monmap" --keyring "$d/keyring"
  } >>"$d/log/create.log" 2>&1 || die "creating the Ceph monitor failed; see $d/log/create.log"
  ceph_start_daemon mon.a ceph-mon || die "could not start ceph-mon"
  wait_for 60 ceph_mon_answers || die "ceph-mon did not answer within 60 s; see $d/log/mon.a.log"

  for ((i = 0; i < CEPH_OSDS; i++)); do
    uuid=$(cat /proc/sys/kernel/random/uuid)
    secret=$(ceph-authtool --gen-print-key)
    id=$(printf '{"cephx_secret": "%s"}' "$secret" | ceph osd new "$uuid" -i - 2>>"$d/log/create.log") ||
      die "ceph osd new failed; see $d/log/create.log"
    mkdir -p "$d/osd/$id"
    ceph-authtool --create-keyring "$d/osd/$id/keyring" --name "osd.$id" --add-key "$secret" >>"$d/log/create.log" 2>&1 &&
      ceph-osd -i "$id" --mkfs --osd-uuid "$uuid" >>"$d/log/create.log" 2>&1 ||
      die "ceph-osd --mkfs for osd.$id failed; see $d/log/create.log and $d/log/osd.$id.log"
  done
  for ((i = 0; i < CEPH_OSDS; i++)); do ceph_start_daemon "osd.$i" ceph-osd || die "could not start osd.$i"; done

  ceph auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
    -o "$d/mgr/x/keyring" >>"$d/log/create.log" 2>&1 || die "creating the mgr key failed; see $d/log/create.log"
  ceph_start_daemon mgr.x ceph-mgr || die "could not start ceph-mgr"

  ceph auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' mgr 'allow rw' \
    -o "$d/rgw/keyring" >>"$d/log/create.log" 2>&1 || die "creating the rgw key failed; see $d/log/create.log"
  # Works before radosgw runs (and creates the rgw pools); needs the OSDs up, so bound it.
  timeout 180 radosgw-admin user create --uid="$CEPH_S3_UID" --display-name="Stratus tests" \
    --access-key="$CEPH_S3_ACCESS_KEY" --secret-key="$CEPH_S3_SECRET_KEY" >>"$d/log/create.log" 2>&1 ||
    die "radosgw-admin user create failed or took over 180 s; see $d/log/create.log, ceph -s"
  ceph_start_daemon client.rgw.a radosgw || die "could not start radosgw"
  wait_for 120 ceph_rgw_answers || die "RGW did not answer on $CEPH_S3_ENDPOINT within 120 s; see $d/log/client.rgw.a.log"
  touch "$d/.ready"
}

# ceph_start_existing: start whichever daemons of CEPH_DIR are not running; non-zero on timeout.
ceph_start_existing() {
  local name comm fsid
  # Rewrite ceph.conf (same fsid) so a changed script applies to an existing cluster too.
  fsid=$(ceph-conf --lookup fsid 2>/dev/null) || { log "no fsid in $CEPH_CONF"; return 1; }
  ceph_any_alive "$CEPH_DIR" || ceph_write_conf "$fsid"
  ceph_start_daemon mon.a ceph-mon || return 1
  wait_for 60 ceph_mon_answers || { log "ceph-mon of $CEPH_DIR did not answer within 60 s"; return 1; }
  while read -r name comm; do ceph_start_daemon "$name" "$comm" || return 1; done < <(ceph_daemons "$CEPH_DIR")
  wait_for 120 ceph_rgw_answers || { log "RGW of $CEPH_DIR did not answer within 120 s"; return 1; }
}

ceph_ensure_buckets() {
  local b code
  for b in "${CEPH_S3_BUCKETS[@]}"; do
    [ "$(s3_call HEAD "/$b")" = 200 ] && continue
    code=$(s3_call PUT "/$b")
    [ "$code" = 200 ] || die "creating bucket $b failed (HTTP $code); see $CEPH_DIR/log/client.rgw.a.log"
  done
}

# ceph_up: sets ACTION.
ceph_up() {
  local other bin port
  if ceph_status; then ACTION="already running"; return 0; fi
  for bin in radosgw radosgw-admin ceph-mon ceph-osd ceph-mgr ceph; do
    ensure_installed "$bin" ceph-mon ceph-osd ceph-mgr radosgw ceph-common
  done
  # The clusters share ports: stop any other one this script started.
  while read -r other; do
    [ "$other" = "$CEPH_DIR" ] && continue
    ceph_any_alive "$other" || continue
    log "stopping the Ceph cluster in $other (same ports)"
    ceph_stop_dir "$other"
  done < <(ceph_all_dirs)
  if ! ceph_any_alive "$CEPH_DIR"; then
    for port in 3300 6789 "$CEPH_RGW_PORT"; do
      port_open "$port" && die "port $port is taken by a process this script did not start (another Ceph?); stop it first"
    done
  fi

  if [ -f "$CEPH_DIR/.ready" ] && [ -f "$CEPH_DIR/mon/a/store.db/CURRENT" ]; then
    if ! ceph_start_existing; then
      log "the Ceph cluster in $CEPH_DIR does not come up: wiping it and creating a new one"
      ceph_create
    fi
  else
    [ -d "$CEPH_DIR" ] && log "$CEPH_DIR is incomplete or broken (no .ready marker or mon store): recreating it"
    ceph_create
  fi
  ceph_ensure_buckets
  ceph_warm_up
  ACTION=$(started_action)
}

# ceph_warm_up: after an unclean stop the first metadata write can hang ~30 s (watches of the
# killed radosgw expire first); take that wait here, not in the first test. Bounded: 90 s.
ceph_warm_up() {
  local key="/${CEPH_S3_BUCKETS[0]}/stratus-warm-up" i
  for ((i = 0; i < 9; i++)); do
    if [ "$(s3_call PUT "$key" --data-binary warm -H 'content-type: text/plain')" = 200 ]; then
      s3_call DELETE "$key" >/dev/null
      return 0
    fi
  done
  die "Ceph RGW does not take writes (90 s); see $CEPH_DIR/log/client.rgw.a.log"
}

ceph_down() {
  local d any=0
  while read -r d; do
    any=1
    ceph_stop_dir "$d"
    echo "ceph      stopped             ($d)"
  done < <(ceph_all_dirs)
  [ "$any" = 1 ] || echo "ceph      nothing to stop"
}

# ceph_abort_stale_uploads: a test or benchmark process killed mid-upload leaves its multipart
# upload open, and S3 keeps the parts of an open upload until it is completed or aborted; on the
# small test OSD they add up until it is full (and a full OSD stalls every RGW write). Aborts the
# uploads of the test buckets started more than 2 hours ago (no test or bench run lasts that long).
ceph_abort_stale_uploads() {
  local b cutoff key id initiated n=0
  cutoff=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S)
  for b in "${CEPH_S3_BUCKETS[@]}"; do
    # (|| …: the last record has no newline after it, and read then reports end of input.)
    while IFS=$'\t' read -r key id initiated || [ -n "$id" ]; do
      [ -n "$id" ] && [[ "$initiated" < "$cutoff" ]] || continue
      [ "$(s3_call DELETE "/$b/$key?uploadId=$id")" = 204 ] && n=$((n + 1))
    done < <(s3_body GET "/$b?max-uploads=1000&uploads=" | sed 's#<Upload>#\n#g' |
      sed -n 's#^<Key>\([^<]*\)</Key><UploadId>\([^<]*\)</UploadId>.*<Initiated>\([^<]*\)</Initiated>.*#\1\t\2\t\3#p')
  done
  log "aborted $n multipart upload(s) started before $cutoff"
}

# ceph_gc: abort stale multipart uploads, then free the space of deleted objects now instead of
# after RGW's 2 h.
ceph_gc() {
  ceph_abort_stale_uploads
  radosgw-admin gc process --include-all
}
