# Shared by the bench scripts (sourced, with ROOT set to the repository).

# Prints the hookhost binary to measure: $HOOKHOST_BIN (relative to ROOT unless absolute), else the
# release build, built when missing. A HOOKHOST_BIN that is not an executable is an error.
host_binary() {
  local bin=${HOOKHOST_BIN:-.build/release/hookhost}
  [[ $bin = /* ]] || bin=$ROOT/$bin
  if [ ! -x "$bin" ]; then
    if [ -n "${HOOKHOST_BIN:-}" ]; then
      echo "HOOKHOST_BIN=$HOOKHOST_BIN is not an executable" >&2
      return 2
    fi
    echo "building hookhost (release)…" >&2
    (cd "$ROOT" && swift build -c release >&2)
  fi
  echo "$bin"
}
