#!/usr/bin/env bash
# Every figure of issue 5, in one command: builds release chat-node and chat-bench, starts its own
# nodes on 127.0.0.1 (one node; a three-node cluster from a generated cluster file, no Redis), runs
# each scenario BENCH_RUNS times with --json (and --compare-broadcast where the tool has it), and
# summarises the JSON lines (median, min, max, ratio to the broadcast limit) with
# scripts/bench_summary.py into test-output/bench/<timestamp>/summary.md.
#
#   scripts/bench.sh                 # 3 runs of each scenario (about 10 minutes on 2 cores)
#   BENCH_QUICK=1 scripts/bench.sh   # smoke check: 1 run, short durations, 2,000 idle connections
#
# Environment:
#   BENCH_RUNS (3)                 runs of each scenario
#   BENCH_QUICK (0)                1: one run of each, short durations
#   BENCH_SKIP_BUILD (0)           1: do not run swift build
#   CHAT_NODE_BIN, CHAT_BENCH_BIN  binaries (default .build/release/chat-node, chat-bench)
#   BENCH_DURATION (5)             seconds of each fan-out / latency run
#   BENCH_FIND_MAX_DURATION (3)    seconds of each --find-max step
#   BENCH_FIND_MAX_START (500)     first rate of --find-max (doubles until a step fails, then bisects)
#   BENCH_FIND_MAX_STEPS (8)       most --find-max steps per target
#   BENCH_FIND_MAX_RESOLUTION (0.05)
#   BENCH_LATENCY_RATE (200)       total sends/s of the fixed-rate latency run
#   BENCH_IDLE_CONNECTIONS (10000) idle connections on one node (lowered if the fd limit is too low)
#   BENCH_IDLE_HOLD (5)            seconds the idle connections are held before memory is read
#   BENCH_SUCCESSOR (1)            1: also run the cluster scenarios with successor replication (factor 0)
#   BENCH_OUT                      output directory (default test-output/bench/<UTC timestamp>)
#
# Every process it starts listens on 127.0.0.1 and is stopped by its PID (trap on exit).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

QUICK="${BENCH_QUICK:-0}"
if [[ "$QUICK" == 1 ]]; then
    RUNS="${BENCH_RUNS:-1}"
    DURATION="${BENCH_DURATION:-2}"
    FM_DURATION="${BENCH_FIND_MAX_DURATION:-1}"
    FM_STEPS="${BENCH_FIND_MAX_STEPS:-4}"
    IDLE_CONNECTIONS="${BENCH_IDLE_CONNECTIONS:-2000}"
    IDLE_HOLD="${BENCH_IDLE_HOLD:-1}"
else
    RUNS="${BENCH_RUNS:-3}"
    DURATION="${BENCH_DURATION:-5}"
    FM_DURATION="${BENCH_FIND_MAX_DURATION:-3}"
    FM_STEPS="${BENCH_FIND_MAX_STEPS:-8}"
    IDLE_CONNECTIONS="${BENCH_IDLE_CONNECTIONS:-10000}"
    IDLE_HOLD="${BENCH_IDLE_HOLD:-5}"
fi
FM_START="${BENCH_FIND_MAX_START:-500}"
FM_RESOLUTION="${BENCH_FIND_MAX_RESOLUTION:-0.05}"
LATENCY_RATE="${BENCH_LATENCY_RATE:-200}"
ROOMS=4 MEMBERS=50 SENDERS=5 TEXT_BYTES=64
TARGET_P99=50
NODE_LIMITS=(--sends-per-second 100000 --send-burst 100000)
SHAPE=(--rooms "$ROOMS" --members "$MEMBERS" --senders "$SENDERS" --text-bytes "$TEXT_BYTES")
HELPER="$REPO/scripts/bench_summary.py"

NODE_BIN="${CHAT_NODE_BIN:-$REPO/.build/release/chat-node}"
BENCH_BIN="${CHAT_BENCH_BIN:-$REPO/.build/release/chat-bench}"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------------------------
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "building release chat-node and chat-bench"
    swift build -c release --product chat-node
    swift build -c release --product chat-bench
fi
[[ -x "$NODE_BIN" ]] || die "no chat-node binary at $NODE_BIN (build it, or set CHAT_NODE_BIN)"
[[ -x "$BENCH_BIN" ]] || die "no chat-bench binary at $BENCH_BIN (build it, or set CHAT_BENCH_BIN)"
command -v python3 >/dev/null || die "python3 is needed (scripts/bench_summary.py)"
command -v curl >/dev/null || die "curl is needed (readiness checks)"

# ---------------------------------------------------------------------------------------------
# output directory, machine line
# ---------------------------------------------------------------------------------------------
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${BENCH_OUT:-$REPO/test-output/bench/$STAMP}"
mkdir -p "$OUT/logs"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/chat-bench-sh.XXXXXX")"
NOISE="$OUT/noise.jsonl"
RUNS_META="$OUT/runs.jsonl"

# File descriptors: the node and chat-bench each hold one per idle connection (and the broadcast
# child as many again). Raise the soft limit to the hard one; if that is still too low, run the
# largest multiple of the room size that fits and say so.
IDLE_NOTE=""
HARD_FDS="$(ulimit -Hn)"
if [[ "$HARD_FDS" == unlimited ]]; then
    ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null || true
else
    ulimit -n "$HARD_FDS" 2>/dev/null || true
fi
SOFT_FDS="$(ulimit -n)"
if [[ "$SOFT_FDS" != unlimited ]] && (( IDLE_CONNECTIONS + 512 > SOFT_FDS )); then
    WANTED="$IDLE_CONNECTIONS"
    IDLE_CONNECTIONS=$(( (SOFT_FDS - 512) / MEMBERS * MEMBERS ))
    (( IDLE_CONNECTIONS >= MEMBERS )) || die "open-file limit $SOFT_FDS is too low for the idle scenario"
    IDLE_NOTE="Idle: $WANTED connections wanted, but the open-file limit (ulimit -Hn) is $HARD_FDS; ran $IDLE_CONNECTIONS."
    log "$IDLE_NOTE"
fi

CORES="$(nproc)"
MEM_GIB="$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
OS_NAME="$( (. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}") || true)"
GIT_REV="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null || true)" ]]; then GIT_REV="$GIT_REV (with uncommitted changes)"; fi
COMMAND="scripts/bench.sh"
for v in BENCH_QUICK BENCH_RUNS BENCH_DURATION BENCH_FIND_MAX_DURATION BENCH_FIND_MAX_START BENCH_FIND_MAX_STEPS \
         BENCH_FIND_MAX_RESOLUTION BENCH_LATENCY_RATE BENCH_IDLE_CONNECTIONS BENCH_IDLE_HOLD; do
    if [[ -n "${!v:-}" ]]; then COMMAND="$v=${!v} $COMMAND"; fi
done
json_str() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
cat >"$OUT/meta.json" <<EOF
{"command": $(json_str "$COMMAND"), "quick": $([[ "$QUICK" == 1 ]] && echo true || echo false), "runs": $RUNS,
 "duration": $DURATION, "find_max_duration": $FM_DURATION, "find_max_start": $FM_START,
 "find_max_steps": $FM_STEPS, "find_max_resolution": $FM_RESOLUTION, "latency_rate": $LATENCY_RATE,
 "idle_connections": $IDLE_CONNECTIONS, "idle_hold": $IDLE_HOLD, "idle_note": $(json_str "$IDLE_NOTE"),
 "rooms": $ROOMS, "members": $MEMBERS, "senders": $SENDERS, "text_bytes": $TEXT_BYTES,
 "cores": $CORES, "mem_gib": $MEM_GIB, "os": $(json_str "$OS_NAME"), "loadavg_start": $(json_str "$LOAD_START"),
 "fd_limit": $(json_str "$SOFT_FDS"), "git": $(json_str "$GIT_REV"),
 "node_bin": $(json_str "$NODE_BIN"), "bench_bin": $(json_str "$BENCH_BIN")}
EOF
log "output: $OUT"
log "machine: $CORES cores, $MEM_GIB GiB, load average $LOAD_START, open files $SOFT_FDS"

# ---------------------------------------------------------------------------------------------
# processes: every one we start is recorded here and stopped by its PID
# ---------------------------------------------------------------------------------------------
PIDS=()         # everything still running that we started
RUNNING_NODES=()  # PIDs of the nodes of the current group (for CPU accounting)

forget_pid() {
    local pid="$1" kept=() p
    for p in "${PIDS[@]}"; do [[ "$p" == "$pid" ]] || kept+=("$p"); done
    PIDS=("${kept[@]}")
}

# SIGTERM the given PIDs, wait up to 10 s, then SIGKILL what is left; reaps them.
stop_pids() {
    local pid waited=0 alive
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    while :; do
        alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        (( alive == 0 || waited >= 100 )) && break
        sleep 0.1
        waited=$((waited + 1))
    done
    for pid in "$@"; do
        if kill -0 "$pid" 2>/dev/null; then
            log "pid $pid did not stop within 10 s of SIGTERM: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
        forget_pid "$pid"
    done
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if ((${#PIDS[@]})); then
        log "stopping ${#PIDS[@]} process(es) we started: ${PIDS[*]}"
        stop_pids "${PIDS[@]}"
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

mark() {  # mark LABEL: CPU/load snapshot (our nodes' CPU, our reaped children's CPU, the machine's)
    times >"$TMP/times"
    BENCH_TIMES="$(cat "$TMP/times")" python3 "$HELPER" mark "$1" "$NOISE" ${RUNNING_NODES[@]+"${RUNNING_NODES[@]}"}
}

wait_ready() {  # wait_ready PID PORT LOG
    local pid="$1" port="$2" logfile="$3" i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || die "chat-node (pid $pid) exited before serving; log: $logfile"
        if curl -fs --noproxy '*' -m 1 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    die "chat-node (pid $pid) did not answer /readyz 200 on port $port within 30 s; log: $logfile"
}

NODE_PID="" NODE_PORT=""
start_one_node() {  # start_one_node NAME: one node with a high rate limit; sets NODE_PID, NODE_PORT
    local name="$1" logfile
    NODE_PORT="$(python3 "$HELPER" free-ports 1)"
    logfile="$OUT/logs/$name-$NODE_PORT.log"
    "$NODE_BIN" serve --host 127.0.0.1 --port "$NODE_PORT" --node-id n1 --internal-port 0 --gossip-port 0 \
        "${NODE_LIMITS[@]}" >"$logfile" 2>&1 &
    NODE_PID=$!
    PIDS+=("$NODE_PID")
    wait_ready "$NODE_PID" "$NODE_PORT" "$logfile"
    RUNNING_NODES=("$NODE_PID")
    log "$name: chat-node pid $NODE_PID on 127.0.0.1:$NODE_PORT"
}

CLUSTER_PIDS=() CLUSTER_PORTS=()
start_cluster() {  # start_cluster NAME [FACTOR]: three nodes of a generated cluster file (FACTOR: replication)
    local name="$1" factor="${2:-}" dir="$TMP/$1" id port pid logfile i urls=()
    CLUSTER_PIDS=() CLUSTER_PORTS=()
    mkdir -p "$dir"
    while read -r id port; do
        logfile="$OUT/logs/$name-$id-$port.log"
        "$NODE_BIN" serve --config "$dir/cluster.json" --node "$id" >"$logfile" 2>&1 &
        pid=$!
        PIDS+=("$pid")
        CLUSTER_PIDS+=("$pid")
        CLUSTER_PORTS+=("$port")
    done < <(python3 "$HELPER" cluster-file "$dir" 3 100000 100000 "$factor")
    ((${#CLUSTER_PIDS[@]} == 3)) || die "could not write the cluster file in $dir"
    cp "$dir/cluster.json" "$OUT/logs/$name-cluster.json"
    for i in "${!CLUSTER_PIDS[@]}"; do
        wait_ready "${CLUSTER_PIDS[$i]}" "${CLUSTER_PORTS[$i]}" "$OUT/logs/$name-n$((i + 1))-${CLUSTER_PORTS[$i]}.log"
        urls+=("http://127.0.0.1:${CLUSTER_PORTS[$i]}")
    done
    for ((i = 0; i < 300; i++)); do
        if python3 "$HELPER" cluster-formed "${urls[@]}"; then
            RUNNING_NODES=("${CLUSTER_PIDS[@]}")
            log "$name: cluster formed (pids ${CLUSTER_PIDS[*]}, ports ${CLUSTER_PORTS[*]})"
            return 0
        fi
        for pid in "${CLUSTER_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || die "a cluster node (pid $pid) exited; logs in $OUT/logs"; done
        sleep 0.1
    done
    die "the cluster did not form within 30 s (every node alive everywhere, links up); logs in $OUT/logs"
}

stop_group() {
    stop_pids "${RUNNING_NODES[@]}"
    RUNNING_NODES=()
}

# run_bench SCENARIO RUN TIMEOUT ARGS...: one chat-bench invocation; its JSON line goes to
# $OUT/SCENARIO.jsonl (a stand-in error line if it printed none), its log to $OUT/logs.
FAILED_RUNS=0
run_bench() {
    local scenario="$1" run="$2" limit="$3"
    shift 3
    local stdout="$TMP/$scenario-$run.out" errlog="$OUT/logs/$scenario-$run.log" rc=0 pid line t0 t1 has_json=true
    log "run $run/$RUNS: $scenario"
    echo "\$ $(basename "$BENCH_BIN") $*" >"$errlog"
    mark "run$run $scenario start"
    t0="$(date +%s.%N)"
    # In the background so that a signal reaches our trap at once; bounded by `timeout`.
    timeout --kill-after=10 "$limit" "$BENCH_BIN" "$@" >"$stdout" 2>>"$errlog" &
    pid=$!
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    forget_pid "$pid"
    t1="$(date +%s.%N)"
    mark "run$run $scenario end"
    line="$(grep '^{' "$stdout" | tail -n 1 || true)"
    if [[ -z "$line" ]]; then
        has_json=false
        line="{\"scenario\": \"$scenario\", \"ok\": false, \"error\": \"no JSON line (exit $rc$([[ $rc == 124 ]] && echo ', timed out after '"$limit"' s'))\"}"
    fi
    printf '%s\n' "$line" >>"$OUT/$scenario.jsonl"
    printf '{"scenario": "%s", "run": %d, "exit": %d, "json": %s, "wall_s": %.1f, "log": "%s"}\n' \
        "$scenario" "$run" "$rc" "$has_json" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" "logs/$scenario-$run.log" >>"$RUNS_META"
    if ((rc != 0)); then
        FAILED_RUNS=$((FAILED_RUNS + 1))
        log "  $scenario run $run: chat-bench exited $rc (see $errlog)"
    fi
}

# ---------------------------------------------------------------------------------------------
# the scenarios
# ---------------------------------------------------------------------------------------------
T_START="$(date +%s)"
mark "bench start"
FM_ARGS=(--find-max --target-p99 "$TARGET_P99" --rate "$FM_START" --max-steps "$FM_STEPS" --resolution "$FM_RESOLUTION"
         --duration "$FM_DURATION")
# A find-max invocation: at most FM_STEPS steps per target, each set-up + duration + drain.
FM_LIMIT=$(( FM_STEPS * 2 * (FM_DURATION + 25) + 60 ))
RUN_LIMIT=$(( 2 * (DURATION + 40) + 30 ))
IDLE_LIMIT=$(( 2 * (IDLE_CONNECTIONS / 200 + ${IDLE_HOLD%.*} + 60) + 30 ))

for ((run = 1; run <= RUNS; run++)); do
    # One node (fresh each run): fan-out, then the sustained-rate search, each against the limit.
    start_one_node "node-run$run"
    NODE_URL=(--url "ws://127.0.0.1:$NODE_PORT/ws" --pid "$NODE_PID")
    run_bench fanout-node "$run" "$RUN_LIMIT" fanout "${NODE_URL[@]}" "${SHAPE[@]}" --duration "$DURATION" \
        --compare-broadcast --json
    run_bench findmax-node "$run" "$FM_LIMIT" latency "${NODE_URL[@]}" "${SHAPE[@]}" "${FM_ARGS[@]}" \
        --compare-broadcast --json
    stop_group

    # Idle memory on a fresh node (its RSS before is that of a node that has served nothing).
    start_one_node "idle-run$run"
    run_bench idle-node "$run" "$IDLE_LIMIT" idle --url "ws://127.0.0.1:$NODE_PORT/ws" --pid "$NODE_PID" \
        --connections "$IDLE_CONNECTIONS" --members "$MEMBERS" --hold "$IDLE_HOLD" --compare-broadcast --json
    stop_group

    # Three-node cluster (fresh each run): latency at a fixed rate, fan-out, sustained rate.
    start_cluster "cluster-run$run"
    CLUSTER_URLS=()
    for i in "${!CLUSTER_PIDS[@]}"; do
        CLUSTER_URLS+=(--url "ws://127.0.0.1:${CLUSTER_PORTS[$i]}/ws" --pid "${CLUSTER_PIDS[$i]}")
    done
    run_bench latency-cluster "$run" "$RUN_LIMIT" latency "${CLUSTER_URLS[@]}" "${SHAPE[@]}" --rate "$LATENCY_RATE" \
        --duration "$DURATION" --compare-broadcast --json
    run_bench fanout-cluster "$run" "$RUN_LIMIT" fanout "${CLUSTER_URLS[@]}" "${SHAPE[@]}" --duration "$DURATION" \
        --compare-broadcast --json
    run_bench findmax-cluster "$run" "$FM_LIMIT" latency "${CLUSTER_URLS[@]}" "${SHAPE[@]}" "${FM_ARGS[@]}" --json
    stop_group

    # The same three scenarios with successor replication (factor 0), for the comparison the
    # summary prints (majority groups of three against one copy on the next node, same run).
    if [[ "${BENCH_SUCCESSOR:-1}" == 1 ]]; then
        start_cluster "successor-run$run" 0
        CLUSTER_URLS=()
        for i in "${!CLUSTER_PIDS[@]}"; do
            CLUSTER_URLS+=(--url "ws://127.0.0.1:${CLUSTER_PORTS[$i]}/ws" --pid "${CLUSTER_PIDS[$i]}")
        done
        run_bench latency-cluster-successor "$run" "$RUN_LIMIT" latency "${CLUSTER_URLS[@]}" "${SHAPE[@]}" \
            --rate "$LATENCY_RATE" --duration "$DURATION" --json
        run_bench fanout-cluster-successor "$run" "$RUN_LIMIT" fanout "${CLUSTER_URLS[@]}" "${SHAPE[@]}" \
            --duration "$DURATION" --json
        run_bench findmax-cluster-successor "$run" "$FM_LIMIT" latency "${CLUSTER_URLS[@]}" "${SHAPE[@]}" \
            "${FM_ARGS[@]}" --json
        stop_group
    fi
done

mark "bench end"
T_END="$(date +%s)"
log "all runs done in $(( (T_END - T_START) / 60 )) min $(( (T_END - T_START) % 60 )) s; load average now $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------------
python3 "$HELPER" summarize "$OUT"
log "JSON lines: $OUT/*.jsonl; summary: $OUT/summary.md"
if ((FAILED_RUNS > 0)); then
    log "$FAILED_RUNS chat-bench invocation(s) failed (a check or a timeout): see Problems in the summary"
    exit 1
fi
