#!/usr/bin/env bash
# A Confluent-compatible schema registry for development and tests: Apicurio
# Registry 3.0.9 on 127.0.0.1 only, its Confluent API at /apis/ccompat/v7.
# Apicurio is fetched from Maven Central (io.apicurio:apicurio-registry-app,
# classifier all, a zip holding a Quarkus runner jar and lib/) into
# deploy/local/.kafka/apicurio-<version>/ on first use; later starts are
# offline. Schemas are kept in Kafka (Apicurio's kafkasql storage: topics
# kafkasql-journal, kafkasql-snapshots, registry-events on the local broker,
# kept forever), so they survive a restart of the registry; start the broker
# first (deploy/local/broker.sh start).
#
#   registry.sh start     start and wait until /health/ready is UP (the kafkasql journal
#                         replayed) and GET /apis/ccompat/v7/subjects answers (no-op if running)
#   registry.sh stop      SIGTERM, wait up to 30 s, then SIGKILL
#   registry.sh restart
#   registry.sh status    prints running/stopped; exit 0 / 3
#   registry.sh logs [N|-f]  last N (default 100) lines of the registry's log, or follow it
#
# Environment:
#   REGISTRY_PORT             HTTP port (default 8081)
#   INV_REGISTRY_BROKERS      Kafka bootstrap servers of the storage (default
#                             127.0.0.1:$INV_BROKER_PORT, the local broker of broker.sh: 9092)
#   INV_REGISTRY_STORAGE      kafkasql (default) or mem (Apicurio's in-memory H2:
#                             no broker needed, every schema lost at stop)
#   INV_REGISTRY_HEAP         JVM heap flags (default "-Xms32m -Xmx256m")
#   INV_REGISTRY_START_TIMEOUT  seconds to wait for readiness (default 120)
#   INV_JAVA                  java binary (default: Java 17, else java on PATH)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# CACHE (deploy/local/.kafka), find_java, port_open
# shellcheck source=deploy/local/kafka-common.sh
source "$ROOT/deploy/local/kafka-common.sh"
APICURIO_VERSION=3.0.9
APICURIO_ARTIFACT="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:zip:all"
APP="$CACHE/apicurio-$APICURIO_VERSION"
RUNNER="$APP/apicurio-registry-app-$APICURIO_VERSION-runner.jar"

PORT="${REGISTRY_PORT:-8081}"
BROKERS="${INV_REGISTRY_BROKERS:-127.0.0.1:${INV_BROKER_PORT:-9092}}"
STORAGE="${INV_REGISTRY_STORAGE:-kafkasql}"
RUN="$CACHE/registry-$PORT"            # per-port: pid, logs
PIDFILE="$RUN/registry.pid"
LOGDIR="$RUN/logs"
LOG="$LOGDIR/registry.log"
START_TIMEOUT="${INV_REGISTRY_START_TIMEOUT:-120}"
STOP_TIMEOUT=30
URL="http://127.0.0.1:$PORT/apis/ccompat/v7"

say() { echo "registry.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# --- fetching Apicurio --------------------------------------------------------
# Maven resolves the zip with --strict-checksums: a download whose SHA-1 does
# not match Central's .sha1 fails instead of being cached.
fetch_apicurio() {
  [[ -f "$APP/.complete" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found: run deploy/local/install-deps.sh"
  command -v unzip >/dev/null || die "unzip not found: run deploy/local/install-deps.sh"
  say "fetching $APICURIO_ARTIFACT (~109 MB) from Maven Central into $APP"
  mkdir -p "$CACHE"
  rm -rf "$APP.tmp"
  mkdir -p "$APP.tmp"
  if ! mvn -q -B --strict-checksums dependency:copy -Dartifact="$APICURIO_ARTIFACT" \
      -DoutputDirectory="$APP.tmp" >"$CACHE/apicurio-maven.log" 2>&1; then
    tail -n 40 "$CACHE/apicurio-maven.log" >&2
    die "maven could not fetch $APICURIO_ARTIFACT (is Maven Central reachable?); see $CACHE/apicurio-maven.log"
  fi
  local zip="$APP.tmp/apicurio-registry-app-$APICURIO_VERSION-all.zip"
  [[ -f "$zip" ]] || die "$zip missing after maven run"
  unzip -q "$zip" -d "$APP.tmp" || die "could not unzip $zip"
  rm -f "$zip"
  [[ -f "$APP.tmp/${RUNNER##*/}" ]] || die "${RUNNER##*/} missing from the zip"
  touch "$APP.tmp/.complete"
  rm -rf "$APP"
  mv "$APP.tmp" "$APP"
}

java_cmd() {
  local java
  java="$(find_java)"
  # shellcheck disable=SC2206
  local heap=(${INV_REGISTRY_HEAP:--Xms32m -Xmx256m})
  JAVA_CMD=("$java" "${heap[@]}" -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true
    "-Dinv.registry.run=$RUN"                   # names our process (our_pid)
    "-Dquarkus.http.host=127.0.0.1" "-Dquarkus.http.port=$PORT"
    -Dquarkus.log.console.color=false)
  case "$STORAGE" in
    kafkasql)
      JAVA_CMD+=(-Dapicurio.storage.kind=kafkasql
        "-Dapicurio.kafkasql.bootstrap.servers=$BROKERS"
        # the journal is the registry's only copy: never delete from it
        -Dapicurio.kafkasql.topic.retention.ms=-1)
      ;;
    mem) ;;
    *) die "INV_REGISTRY_STORAGE=$STORAGE: expected kafkasql or mem" ;;
  esac
  JAVA_CMD+=(-jar "$RUNNER")
}

# --- process state ----------------------------------------------------------
our_pid() {   # prints the pid when the pid file names a live registry of ours
  [[ -s "$PIDFILE" ]] || return 1
  local pid; pid="$(cat "$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *"-Dinv.registry.run=$RUN "* ]] || return 1
  echo "$pid"
}

answers() {   # is a registry ready on our port: /health/ready UP, and GET /subjects answered?
  port_open "$PORT" || return 1
  # /subjects answers while the kafkasql journal is still being replayed, and
  # ids not replayed yet are then 404 (not found: a consumer would take it
  # for the record's fault); /health/ready is 503 until the replay is done
  curl -sf -m "${1:-2}" -o /dev/null "http://127.0.0.1:$PORT/health/ready" &&
    curl -sf -m "${1:-2}" -o /dev/null "$URL/subjects"
}

tail_log() {
  say "last 30 lines of $LOG:"
  tail -n 30 "$LOG" >&2 2>/dev/null || true
}

wait_ready() {   # pid
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail_log; die "registry (pid $pid) exited during start-up"
    fi
    answers 1 && return 0
    sleep 0.25
  done
  tail_log
  die "registry (pid $pid) was not ready (/health/ready, $URL/subjects) within ${START_TIMEOUT}s (left running; 'registry.sh stop' to stop it)"
}

lock() {
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"
  flock -w 300 9 || die "another registry.sh holds $RUN/lock"
}

# --- commands ---------------------------------------------------------------
cmd_start() {
  lock
  local pid
  if pid="$(our_pid)"; then
    wait_ready "$pid"        # may still be starting (another invocation)
    say "running (pid $pid) at $URL"
    return 0
  fi
  if answers 2; then
    say "a registry not started by this script already answers at $URL; using it"
    return 0
  fi
  port_open "$PORT" && die "port $PORT is in use by something that is not our registry"
  if [[ "$STORAGE" == kafkasql ]]; then
    local b="${BROKERS%%,*}"
    [[ "${b%%:*}" == 127.0.0.1 || "${b%%:*}" == localhost ]] && ! port_open "${b##*:}" \
      && die "no broker at $b for the kafkasql storage: deploy/local/broker.sh start (or INV_REGISTRY_STORAGE=mem)"
  fi
  local t0=$SECONDS
  fetch_apicurio
  java_cmd
  mkdir -p "$LOGDIR"
  : >"$LOG"
  # Detached: own session, no terminal, and without our lock fd 9.
  # Its working directory is $RUN, where Quarkus may leave files.
  cd "$RUN"
  setsid nohup "${JAVA_CMD[@]}" </dev/null >>"$LOG" 2>&1 9>&- &
  pid=$!
  cd "$ROOT"
  echo "$pid" >"$PIDFILE"
  wait_ready "$pid"
  say "started (pid $pid, $STORAGE storage) at $URL in $((SECONDS - t0))s; logs: $LOG"
}

cmd_stop() { service_stop registry "$URL"; }
cmd_status() { service_status "$URL"; }
cmd_logs() { service_logs "$LOG" "$@"; }

case "${1:-}" in
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  restart) (cmd_stop); cmd_start ;;
  status)  cmd_status ;;
  logs)    shift; cmd_logs "$@" ;;
  *) echo "usage: $0 start|stop|restart|status|logs [N|-f]" >&2; exit 2 ;;
esac
