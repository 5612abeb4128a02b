#!/usr/bin/env bash
# A/B of two cluster variants on one machine, alternating runs so that the host's noise falls on
# both: each run starts three nodes of a generated cluster file (no Redis, high limits), runs one
# chat-bench scenario against them, and stops them by PID. Prints the medians of each variant.
#
#   NODE_A, NODE_B     chat-node binaries (default: .build/release/chat-node for both)
#   FACTOR_A, FACTOR_B replication factor of each (default 3 and 0: majority groups against
#                      successor replication)
#   CMD                latency (default: 200 sends/s, e2e and ack percentiles), fanout, or
#                      findmax (the sustained rate: p99 < 50 ms, correct; as scripts/bench.sh)
#   RUNS (6), DUR (10) runs per variant, seconds per run
#   OUT                where the JSON of each run goes (default: a new temporary folder)
#
# Example (the figures in BENCHMARKS.md): RUNS=6 scripts/ab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${CHAT_BENCH_BIN:-.build/release/chat-bench}
NODE_A=${NODE_A:-.build/release/chat-node}; NODE_B=${NODE_B:-.build/release/chat-node}
FACTOR_A=${FACTOR_A:-3}; FACTOR_B=${FACTOR_B:-0}
CMD=${CMD:-latency}; RUNS=${RUNS:-6}; DUR=${DUR:-10}; RATE=${RATE:-200}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/ab.XXXXXX")}; mkdir -p "$OUT"
SHAPE=(--rooms 4 --members 50 --senders 5 --text-bytes 64 --duration "$DUR" --json)
pids=()
cleanup() { [[ ${#pids[@]} -gt 0 ]] && kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

for run in $(seq 1 "$RUNS"); do
    for v in A B; do
        node=NODE_$v; factor=FACTOR_$v
        dir=$(mktemp -d "${TMPDIR:-/tmp}/ab-cluster.XXXXXX"); pids=(); urls=(); hurls=()
        while read -r id port; do
            "${!node}" serve --config "$dir/cluster.json" --node "$id" >"$dir/$id.log" 2>&1 &
            pids+=($!); urls+=(--url "ws://127.0.0.1:$port/ws"); hurls+=("http://127.0.0.1:$port")
        done < <(python3 scripts/bench_summary.py cluster-file "$dir" 3 100000 100000 "${!factor}")
        for _ in $(seq 1 300); do python3 scripts/bench_summary.py cluster-formed "${hurls[@]}" 2>/dev/null && break; sleep 0.1; done
        if [[ $CMD == latency ]]; then
            timeout $((DUR + 60)) "$BENCH" latency "${urls[@]}" "${SHAPE[@]}" --rate "$RATE" 2>/dev/null | tail -1 >"$OUT/$v-$run.json" || true
        elif [[ $CMD == findmax ]]; then
            timeout 600 "$BENCH" latency "${urls[@]}" --rooms 4 --members 50 --senders 5 --text-bytes 64 --json \
                --find-max --target-p99 50 --rate 500 --max-steps 8 --resolution 0.05 --duration 3 2>/dev/null | tail -1 >"$OUT/$v-$run.json" || true
        else
            timeout $((DUR + 60)) "$BENCH" fanout "${urls[@]}" "${SHAPE[@]}" 2>/dev/null | tail -1 >"$OUT/$v-$run.json" || true
        fi
        kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true; pids=(); rm -rf "$dir"
    done
done

python3 - "$OUT" "$CMD" <<'PY'
import glob, json, statistics, sys
out, cmd = sys.argv[1], sys.argv[2]
for v in ("A", "B"):
    runs = []
    for f in sorted(glob.glob(f"{out}/{v}-*.json")):
        try:
            runs.append(json.load(open(f)))
        except ValueError:
            print(f"{v}: {f} has no result")
    if not runs:
        continue
    if cmd == "latency":
        keys = [("e2e_ms", "p50"), ("e2e_ms", "p99"), ("ack_ms", "p50"), ("ack_ms", "p99")]
        med = {f"{a} {b}": statistics.median(r[a][b] for r in runs) for a, b in keys}
        print(f"{v}: {len(runs)} runs, medians: " + ", ".join(f"{k} {x:.2f}" for k, x in med.items()))
    elif cmd == "findmax":
        rates = [(r.get("nodes") or {}).get("max_rate") or 0 for r in runs]
        print(f"{v}: {len(runs)} runs, sustained sends/s median {statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f})")
    else:
        rates = [r["delivered_per_s"] for r in runs]
        print(f"{v}: {len(runs)} runs, delivered/s median {statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f})")
print(f"(runs in {out})")
PY
