#!/usr/bin/env bash
# `make bench`: the router side by side with LiteLLM proxy against the same fake upstream, in one run.
#
# Uses the harness in ../shared/bench (compare.sh: mock upstream on 127.0.0.1:18000, load generator,
# LiteLLM 1.106.12 with 1 worker). The router runs as in production, with 1 server worker: history
# recording, key auth, rpm/tpm limits, budget and cost tracking all on; only the django-q2 cluster is
# left out (--no-worker), as it serves no request. A scratch SQLite database keeps the run away from
# db.sqlite3.
#
#   bench/run.sh [compare.sh flags]      e.g. --no-litellm, --n32 4000
#   BENCH_OPTIMIZE=all bench/run.sh      the same run with the query optimizer on for fake-gpt
#
# BENCH_OPTIMIZE is a switch spec (routerapp/optimizer/switches.py: `all`, `compress,params`, ...)
# set as the model's `optimize`; the response cache is always switched off in it (`-cache`), since a
# hit would skip the upstream and measure nothing but the cache. Task detection runs either way, so
# the difference from a run without it is what the strategies themselves cost.
#
# Writes bench/results/compare-<stamp>.jsonl (raw numbers), .md (the table, with the command and the
# machine's load), and .log files (console, mock and server output; git-ignored). Prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${BENCH_SHARED:-$ROOT/../shared/bench}
PY=$ROOT/.venv/bin/python
PORT=${BENCH_PORT:-8080}
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS=$ROOT/bench/results
OUT=$RESULTS/compare-$STAMP.jsonl
SCRATCH=$(mktemp -d /tmp/router-bench.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

[ -x "$SHARED/compare.sh" ] || { echo "bench harness not found at $SHARED (set BENCH_SHARED)" >&2; exit 1; }
if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
  echo "port $PORT is already taken; set BENCH_PORT" >&2
  exit 1
fi
mkdir -p "$RESULTS"

# Everything the server process and the setup commands see. No REDIS_URL: one worker, local cache.
export DATABASE_URL="sqlite:///$SCRATCH/bench.sqlite3"
export SECRET_KEY=bench-only-secret LOG_LEVEL=WARNING
# serve refuses to start in production without a dedicated Fernet key (routerapp/production.py): a
# throwaway one per run, as the scratch database it encrypts is thrown away too.
ROUTER_ENCRYPTION_KEY=$("$PY" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
export ROUTER_ENCRYPTION_KEY
unset REDIS_URL

"$PY" manage.py migrate --noinput -v 0
CONFIG=bench/fake-gpt.yaml
OPTIMIZE=${BENCH_OPTIMIZE:+$BENCH_OPTIMIZE,-cache}
if [ -n "$OPTIMIZE" ]; then
  CONFIG=$SCRATCH/fake-gpt.yaml
  sed "s/^    strategy: simple-shuffle$/&\n    optimize: \"$OPTIMIZE\"/" bench/fake-gpt.yaml > "$CONFIG"
  grep -q "^    optimize: " "$CONFIG" || { echo "could not set optimize in $CONFIG" >&2; exit 1; }
fi
"$PY" manage.py importconfig "$CONFIG" > /dev/null
# Limits and a budget large enough never to bite, but set, so every request counts against them.
KEY=$("$PY" manage.py apikey create bench --rpm 1000000 --budget 1000000 2> /dev/null | tail -n 1)

CMD=(--target-label router --target-url "http://127.0.0.1:$PORT/v1" --target-key "$KEY"
  --target-cmd ".venv/bin/python manage.py serve --port $PORT --workers 1 --no-worker" "$@")
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
OUT=$OUT "$SHARED/compare.sh" "${CMD[@]}" | tee "$RESULTS/compare-$STAMP.log"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "# Benchmark $STAMP"
  echo
  echo "Command: \`${BENCH_OPTIMIZE:+BENCH_OPTIMIZE=$BENCH_OPTIMIZE }make bench\` (= \`bench/run.sh${*:+ $*}\`), which runs"
  echo "\`../shared/bench/compare.sh --target-label router --target-url http://127.0.0.1:$PORT/v1 --target-key KEY" \
    "--target-cmd '.venv/bin/python manage.py serve --port $PORT --workers 1 --no-worker'${*:+ $*}\`"
  echo
  echo "Machine: $(nproc) cores, $(uname -sr); load average before/after: $LOAD_BEFORE / $LOAD_AFTER"
  echo "Router: 1 uvicorn worker pinned to CPU 0; mock upstream and load generator on CPU 1; upstream delay 0 ms."
  echo "Query optimizer on fake-gpt: ${OPTIMIZE:-off} (task detection runs either way)."
  echo
  "${BENCH_PY:-${XDG_CACHE_HOME:-$HOME/.cache}/gateway-bench/bench-venv/bin/python}" "$SHARED/table.py" "$OUT" | sed 1,3d
  echo
  echo "Memory (process tree, MB):"
  echo
  sed 's/^# /- /' "${OUT%.jsonl}.mem.txt"
} > "$RESULTS/compare-$STAMP.md"
# compare.sh leaves its .mock.log and .target.log beside the JSONL (git-ignored); the memory lines are in the table.
rm -f "${OUT%.jsonl}.mem.txt"
echo
cat "$RESULTS/compare-$STAMP.md"
