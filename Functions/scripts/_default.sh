#!/bin/sh
# _default: runs for every event type with neither an exact nor a family handler (batch.cancelled,
# batch.expired, the ping event, types Gemini adds later) and appends one JSON line per delivery
# to the file named by EVENT_LOG (set in the sidecar, _default.json):
#
#   {"received_at":"…","type":"batch.expired","delivery":"wh_…","attempt":1,"id":"batches/abc"}
#
# Plain POSIX sh with sed and grep, no jq. The JSON is not parsed: `received_at` is the first one
# in the document (the host writes `delivery` before `event`) and `id` is the first "id" inside
# `event` — usually `data.id`, but a body with another "id" member before it would show that one.
# Values are copied as they appear in the JSON (still escaped), so each line stays valid JSON.
# At least once: a delivery already in the log is not appended again.
set -u

# All of stdin, newlines folded, so sed sees one line even if the sender pretty-printed the body.
input=$(tr '\n\r' '  ')

case $input in
    *'"contract":'*'"delivery":'*'"event":'*) ;;
    *) echo "_default: stdin is not a hookhost input document (CONTRACT §4)" >&2; exit 65 ;;
esac

# sed has no "first match" for a value, so the wanted key is first replaced by a marker (a control
# character, which valid JSON never holds raw); `s` without `g` replaces only the first occurrence.
mark=$(printf '\001')
string_value='[[:space:]]*"\([^"\\]*\(\\.[^"\\]*\)*\)".*'
# The host writes `delivery` (with received_at) first, then `"type":"<HOOKHOST_EVENT_TYPE>","event":`
# (a plain dotted name; the dots are escaped for sed). JWT claims come before it, hence the type.
received_at=$(printf '%s\n' "$input" | sed "s/\"received_at\"[[:space:]]*:/$mark/" | sed -n "s/^[^$mark]*$mark$string_value/\\1/p")
type_regex=$(printf '%s' "${HOOKHOST_EVENT_TYPE:-}" | sed 's/[^A-Za-z0-9_-]/\\&/g')
event=$(printf '%s\n' "$input" | sed "s/\"type\":\"$type_regex\",\"event\":/$mark/" | sed -n "s/^[^$mark]*$mark//p")
id=$(printf '%s\n' "$event" | sed "s/\"id\"[[:space:]]*:/$mark/" | sed -n "s/^[^$mark]*$mark$string_value/\\1/p")

# Environment values are raw text: escape them for JSON (and drop control characters).
json_escape() { printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g'; }
type=$(json_escape "${HOOKHOST_EVENT_TYPE:-}")
delivery=$(json_escape "${HOOKHOST_DELIVERY_ID:-}")
case "${HOOKHOST_ATTEMPT:-}" in
    '' | *[!0-9]*) attempt=null ;;
    *) attempt=$HOOKHOST_ATTEMPT ;;
esac

echo "_default: type=$type delivery=$delivery attempt=$attempt id=$id" >&2

log=${EVENT_LOG:-}
if [ -z "$log" ]; then
    echo '{"logged":false,"reason":"EVENT_LOG is not set"}'
    exit 0
fi

line=$(printf '{"received_at":"%s","type":"%s","delivery":"%s","attempt":%s,"id":"%s"}' \
    "$received_at" "$type" "$delivery" "$attempt" "$id")
if ! mkdir -p "$(dirname "$log")"; then
    echo "_default: cannot create the directory of $log" >&2
    exit 75
fi
# Keyed on the delivery: a retry or a second copy of the same delivery adds nothing.
if [ -f "$log" ] && grep -F -q "\"delivery\":\"$delivery\"," "$log"; then
    echo "_default: delivery $delivery is already in $log" >&2
elif ! printf '%s\n' "$line" >>"$log"; then
    # A full disk or a read-only file: the event is fine, try again later.
    echo "_default: cannot append to $log" >&2
    exit 75
fi
printf '{"logged":true,"log":"%s","delivery":"%s"}\n' "$(json_escape "$log")" "$delivery"
