#!/bin/sh
# batch.failed: records that a batch failed. Plain POSIX sh, no jq: stdin is one JSON document
# (CONTRACT §4); everything needed here is also in the environment.
set -u

# Read all of stdin, so the host's write never meets a closed pipe.
bytes=$(wc -c | tr -d ' ')

printf 'batch.failed: type=%s delivery=%s attempt=%s (%s bytes of input)\n' \
    "${HOOKHOST_EVENT_TYPE:-?}" "${HOOKHOST_DELIVERY_ID:-?}" "${HOOKHOST_ATTEMPT:-?}" "$bytes" >&2

# Only a plain number may go into the JSON unquoted.
case "${HOOKHOST_ATTEMPT:-}" in
    '' | *[!0-9]*) attempt=null ;;
    *) attempt=$HOOKHOST_ATTEMPT ;;
esac
printf '{"logged":true,"attempt":%s}\n' "$attempt"
exit 0
