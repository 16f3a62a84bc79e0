# Sourced by the benchmark scripts: a private set of topics and a group per run.
#   bench_topics_use PREFIX   exports INV_TOPIC_<KEY>=PREFIX.<key> for every topic
#                             key and INV_GROUP_ID=PREFIX, and creates the topics
#                             (6 partitions) with "$BIN/invctl" on $BROKERS
#   bench_topics_delete PREFIX...  deletes the topics of those prefixes
BENCH_TOPIC_KEYS="sales returns restocks movements policies stock reorders shortages dlq dedup reservations transfers
channels availability reservation_status state"

bench_topics_use() {
  local k
  for k in $BENCH_TOPIC_KEYS; do
    export "INV_TOPIC_${k^^}=$1.$k"
  done
  export INV_GROUP_ID="$1"
  "$BIN/invctl" -b "$BROKERS" topics create --partitions 6 >/dev/null
}

bench_topics_delete() {
  local p k names=()
  for p in "$@"; do
    for k in $BENCH_TOPIC_KEYS; do names+=("$p.$k"); done
  done
  "$BIN/bench_preload" delete -b "$BROKERS" "${names[@]}" >/dev/null 2>&1 || true
}
