#!/bin/sh
# _default: runs for any event type with neither an exact nor a family handler (the ping event,
# types Gemini adds later). Logs and succeeds, so such deliveries are done, not retried.
set -u
cat >/dev/null
printf '_default: type=%s delivery=%s attempt=%s\n' \
    "${HOOKHOST_EVENT_TYPE:-?}" "${HOOKHOST_DELIVERY_ID:-?}" "${HOOKHOST_ATTEMPT:-?}" >&2
exit 0
