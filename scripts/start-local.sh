#!/usr/bin/env bash
# Sets everything up, starts Redis and the local node(s) of cluster.example.json, prints the URLs,
# and stops them all on Ctrl-C. Logs go to run/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
CONFIG=${CONFIG:-cluster.example.json}
mkdir -p run
BIN=$(swift build --show-bin-path)/chat-node

# Redis on the port of the file's redis URL, started here, stopped with the nodes.
REDIS_URL=$(python3 -c "import json,sys; print(json.load(open('$CONFIG')).get('redis') or '')")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
if [ -n "$REDIS_URL" ]; then
  REDIS_PORT=$(python3 -c "from urllib.parse import urlparse; print(urlparse('$REDIS_URL').port or 6379)")
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    echo "==> using the redis already on port $REDIS_PORT"
  else
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >run/redis.log 2>&1 &
    pids+=($!)
  fi
fi
for node in $(python3 -c "import json; print(' '.join(n['id'] for n in json.load(open('$CONFIG'))['nodes']))"); do
  "$BIN" serve --config "$CONFIG" --node "$node" >"run/$node.log" 2>&1 &
  pids+=($!)
done
for node in $(python3 -c "import json; print(' '.join(f\"{n['host']}:{n['clientPort']}\" for n in json.load(open('$CONFIG'))['nodes']))"); do
  for _ in $(seq 1 100); do curl -fs "http://$node/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fs "http://$node/healthz" >/dev/null || { echo "node $node did not start; see run/"; exit 1; }
  echo "chat is up: open http://$node/"
done
echo "(logs in run/; Ctrl-C stops everything)"
wait
