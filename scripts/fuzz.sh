#!/usr/bin/env bash
# Builds the libFuzzer harnesses of Fuzz/ (issue 11 §8) and runs each for a bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_HARNESS]      (default 30; FUZZ_HARNESSES="FuzzJSON ..." picks some)
#
# Each harness first replays its committed corpus (Fuzz/Corpus/<name>: seeds and every crash input
# found so far), then fuzzes from a scratch copy of it for SECONDS. A crash fails the script; its
# input is in test-output/fuzz/<harness>/crash-* : commit it to the corpus with the fix, and the
# replay keeps it from coming back. Executions per harness are printed (libFuzzer's stat line).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_HARNESS="${1:-30}"
HARNESSES="${FUZZ_HARNESSES:-FuzzJSON FuzzClientFrame FuzzInternalFrame FuzzGossip}"
OUT="$PWD/test-output/fuzz"
mkdir -p "$OUT"

corpus_of() {
    case "$1" in
        FuzzJSON) echo json ;;
        FuzzClientFrame) echo client-frame ;;
        FuzzInternalFrame) echo internal-frame ;;
        FuzzGossip) echo gossip ;;
    esac
}

echo "==> building the fuzz harnesses (--sanitize=fuzzer)"
(cd Fuzz && swift build -c release --sanitize=fuzzer -Xswiftc -DFUZZING)
BIN="$(cd Fuzz && swift build -c release --sanitize=fuzzer -Xswiftc -DFUZZING --show-bin-path)"

for harness in $HARNESSES; do
    corpus="Fuzz/Corpus/$(corpus_of "$harness")"
    work="$OUT/$harness"
    rm -rf "$work" && mkdir -p "$work/corpus"
    cp "$corpus"/* "$work/corpus/" 2>/dev/null || true
    echo "==> $harness: replaying $corpus"
    "$BIN/$harness" -runs=0 "$corpus" >"$work/replay.log" 2>&1 || { cat "$work/replay.log"; echo "$harness crashed on its committed corpus"; exit 1; }
    echo "==> $harness: fuzzing for ${SECONDS_PER_HARNESS} s"
    if ! (cd "$work" && "$BIN/$harness" -max_total_time="$SECONDS_PER_HARNESS" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 corpus >"$work/fuzz.log" 2>&1); then
        tail -40 "$work/fuzz.log"
        echo "$harness found a crash: $(ls "$work"/crash-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -1)"
        exit 1
    fi
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$work/fuzz.log" | sed "s/^/    $harness /"
done
echo "==> fuzzing: no crash"
