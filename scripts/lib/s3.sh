# shellcheck shell=bash
# A minimal signed S3 request with curl (AWS SigV4; curl 7.88 sends no payload hash, RGW needs one), so bucket setup needs no node_modules.
# Sourced by scripts/services.sh; uses CEPH_S3_* from scripts/lib/ceph.sh. A subresource needs an
# explicit "=" (?uploads=): curl 7.88 signs a query parameter without a value wrongly.

# s3_request METHOD PATH [CURL ARGS...]: sends the signed request; prints what curl prints.
s3_request() {
  local method=$1 path=$2; shift 2
  local verb=(-X "$method")
  [ "$method" = HEAD ] && verb=(-I)
  curl -s "${verb[@]}" \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$CEPH_S3_ACCESS_KEY:$CEPH_S3_SECRET_KEY" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
    "$@" "$CEPH_S3_ENDPOINT$path" || true
}

# s3_call METHOD PATH [CURL ARGS...]: prints the HTTP status code (000 when nothing answered).
s3_call() {
  local method=$1 path=$2; shift 2
  s3_request "$method" "$path" -o /dev/null -m 10 -w '%{http_code}' "$@"
}

# s3_body METHOD PATH: prints the response body (nothing when nothing answered).
s3_body() { s3_request "$1" "$2" -m 30; }
