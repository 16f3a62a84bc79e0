#!/usr/bin/env bash
# Creates <repo>/.venv with the independent Python Kafka/Avro clients the
# integration tests use. A no-op when the venv exists and imports them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
# Versions checked with `pip index versions`: both ship cp311 manylinux wheels.
# kubernetes-validate and cloudcoil-models-keda validate deploy/k8s offline
# (Kubernetes OpenAPI schemas and KEDA's ScaledObject schema ship inside them).
# confluent-kafka's avro and schemaregistry extras: Confluent's own AvroSerializer and
# schema registry client, against which the registry tests check the programs.
# selenium drives Debian's chromium (chromium-driver) in the dashboard's browser test; 4.50.0
# because pip finds no certifi that satisfies both confluent-kafka 2.16.1 and selenium 4.51+.
PKGS=("confluent-kafka[avro,schemaregistry]==2.16.1" fastavro==1.13.1 kubernetes-validate==1.37.0
  cloudcoil-models-keda==2.16.1.0 selenium==4.50.0)
CHECK='import confluent_kafka, fastavro, kubernetes_validate, selenium
import confluent_kafka.schema_registry.avro
from importlib.metadata import version as v
assert v("confluent-kafka") == "2.16.1" and v("fastavro") == "1.13.1"
assert v("kubernetes-validate") == "1.37.0" and v("cloudcoil-models-keda") == "2.16.1.0"
assert v("selenium") == "4.50.0"'

if [[ -x "$VENV/bin/python3" ]] && "$VENV/bin/python3" -c "$CHECK" 2>/dev/null; then
  exit 0
fi

# Prefer Debian's interpreter (python3-venv): a pyenv shim first on PATH may
# point at a version that later changes or disappears. Fall back to PATH.
PY=""
for cand in /usr/bin/python3 "$(command -v python3 || true)"; do
  if [[ -n "$cand" && -x "$cand" ]] && "$cand" -c 'import venv, ensurepip' 2>/dev/null; then
    PY="$cand"; break
  fi
done
[[ -n "$PY" ]] || { echo "venv.sh: no python3 with venv+ensurepip (apt-get install python3-venv)" >&2; exit 1; }

echo "venv.sh: creating $VENV with $PY ($("$PY" --version 2>&1))" >&2
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check "${PKGS[@]}"
"$VENV/bin/python3" -c "$CHECK"
echo "venv.sh: ready: $VENV" >&2
