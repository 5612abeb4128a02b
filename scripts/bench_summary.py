#!/usr/bin/env python3
"""Helper of scripts/bench.sh (issue 5 figures). Standard library only.

Subcommands:
  free-ports N              N distinct free TCP ports on 127.0.0.1 (then N UDP ports with --udp M).
  cluster-file DIR ...      writes DIR/cluster.json for ids n1..nK (free ports, no Redis, high limits);
                            prints "id clientPort" per node.
  cluster-formed URL...     exit 0 when every node answers /readyz 200 and lists every id alive
                            with its internal links up.
  mark LABEL FILE [PID...]  appends a CPU/load snapshot to FILE (JSON line): /proc/stat, /proc/loadavg,
                            the CPU seconds of the given live PIDs, and of this shell's reaped children
                            (read from $BENCH_TIMES, the output of bash `times`).
  summarize DIR             reads DIR/*.jsonl (the chat-bench JSON lines), prints the summary table and
                            writes DIR/summary.md.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import sys
import time
import urllib.request
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------
# set-up helpers
# ---------------------------------------------------------------------------------------------


def free_ports(tcp: int, udp: int = 0) -> tuple[list[int], list[int]]:
    """Distinct free ports, every socket held until all are picked."""
    held = []
    tcps, udps = [], []
    try:
        for _ in range(tcp):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            held.append(s)
            tcps.append(s.getsockname()[1])
        for _ in range(udp):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            held.append(s)
            udps.append(s.getsockname()[1])
    finally:
        for s in held:
            s.close()
    return tcps, udps


def cmd_free_ports(args: list[str]) -> int:
    tcp = int(args[0])
    udp = int(args[2]) if len(args) > 2 and args[1] == "--udp" else 0
    tcps, udps = free_ports(tcp, udp)
    print(" ".join(str(p) for p in tcps + udps))
    return 0


def cmd_cluster_file(args: list[str]) -> int:
    """cluster-file DIR COUNT SENDS_PER_SECOND SEND_BURST [FACTOR]: the cluster file of
    tests/conftest.py LocalCluster (same keys), every node on 127.0.0.1 with free ports, history in
    memory; FACTOR sets `replication.factor` (absent: the nodes' default, majority groups of 3)."""
    directory, count, rate, burst = Path(args[0]), int(args[1]), int(args[2]), int(args[3])
    factor = int(args[4]) if len(args) > 4 and args[4] != "" else None
    tcps, udps = free_ports(2 * count, count)
    nodes = [
        {"id": f"n{i + 1}", "host": "127.0.0.1", "clientPort": tcps[2 * i], "internalPort": tcps[2 * i + 1],
         "gossipPort": udps[i]}
        for i in range(count)
    ]
    spec = {
        "secret": "bench-" + os.urandom(8).hex(),
        "redis": None,
        "history": {"limit": 1000},
        "ring": {"virtualNodes": None},
        "auth": {"secret": None},
        "limits": {"maxFrameBytes": 65536, "maxTextLength": 4000, "sendsPerSecond": rate, "sendBurst": burst,
                   "outboundQueueFrames": 1024, "maxRoomsPerConnection": 100},
        "nodes": nodes,
    }
    if factor is not None:
        spec["replication"] = {"factor": factor}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cluster.json").write_text(json.dumps(spec, indent=2) + "\n")
    for n in nodes:
        print(n["id"], n["clientPort"])
    return 0


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy for 127.0.0.1
    try:
        with opener.open(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def cmd_cluster_formed(args: list[str]) -> int:
    bases = [a.rstrip("/") for a in args]
    ids = set()
    views = []
    try:
        for base in bases:
            status, _ = http_get(base + "/readyz")
            if status != 200:
                return 1
            status, body = http_get(base + "/cluster")
            if status != 200:
                return 1
            view = json.loads(body)
            ids.add(view["node"])
            views.append(view)
    except (OSError, ValueError, KeyError):
        return 1
    for view in views:
        members = {m["id"]: m for m in view.get("members", [])}
        for node_id in ids:
            m = members.get(node_id)
            if m is None or m.get("status") != "alive":
                return 1
            if not m.get("self") and m.get("link") != "up":
                return 1
    return 0


def proc_cpu_seconds(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def parse_times(text: str) -> float:
    """bash `times`: line 1 the shell's user/sys, line 2 its reaped children's. Returns line 2 in s."""
    lines = [l for l in text.strip().splitlines() if l.strip()]
    if len(lines) < 2:
        return 0.0
    total = 0.0
    for part in lines[1].split():
        m = re.fullmatch(r"(\d+)m([\d.]+)s", part)
        if m:
            total += int(m.group(1)) * 60 + float(m.group(2))
    return total


def cmd_mark(args: list[str]) -> int:
    label, path, pids = args[0], Path(args[1]), [int(p) for p in args[2:] if p]
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in cpu]
    # user nice system idle iowait irq softirq steal (guest is inside user)
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    load = Path("/proc/loadavg").read_text().split()[:3]
    nodes = sum(c for c in (proc_cpu_seconds(p) for p in pids) if c is not None)
    record = {
        "label": label, "time": time.time(), "busy_s": (total - idle) / CLK_TCK, "total_s": total / CLK_TCK,
        "loadavg": [float(x) for x in load], "nodes_cpu_s": nodes,
        "children_cpu_s": parse_times(os.environ.get("BENCH_TIMES", "")),
    }
    with path.open("a") as f:
        f.write(json.dumps(record) + "\n")
    return 0


# ---------------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"ok": False, "error": "unparsable line"})
    return out


def dig(obj, *keys):
    for k in keys:
        if obj is None:
            return None
        if isinstance(k, int):
            obj = obj[k] if isinstance(obj, list) and len(obj) > k else None
        else:
            obj = obj.get(k) if isinstance(obj, dict) else None
    return obj


def fmt(v, digits: int = 0) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


class Figure:
    def __init__(self, name: str, values: list, unit_digits: int = 0, limit: list | None = None,
                 ratio: list | None = None, aim: str = "", aim_met=None, note: str = ""):
        self.name = name
        self.values = values
        self.digits = unit_digits
        self.limit = limit
        self.ratio = ratio
        self.aim = aim
        self.aim_met = aim_met  # callable(median, ratio_median, limit_median) -> bool | None
        self.note = note

    @staticmethod
    def stats(values: list):
        vs = [v for v in values if isinstance(v, (int, float))]
        if not vs:
            return None, None, None
        return statistics.median(vs), min(vs), max(vs)

    def row(self) -> list[str]:
        med, lo, hi = self.stats(self.values)
        lmed, _, _ = self.stats(self.limit or [])
        rmed, rlo, rhi = self.stats(self.ratio or [])
        d = self.digits
        ratio = "-" if rmed is None else f"{rmed:.3f} ({rlo:.3f}–{rhi:.3f})"
        verdict = ""
        if self.aim_met is not None and med is not None:
            met = self.aim_met(med, rmed, lmed)
            verdict = "" if met is None else (" — met" if met else " — NOT met")
        n = len([v for v in self.values if isinstance(v, (int, float))])
        return [self.name, fmt(med, d), fmt(lo, d), fmt(hi, d), fmt(lmed, d) if self.limit is not None else "-", ratio,
                (self.aim + verdict) if self.aim else "", f"{n}/{len(self.values)}"]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def ok_value(record: dict | None, value):
    """A figure counts only from a correct run (chat-bench's own check: nothing lost, duplicated,
    reordered, unacked, no error frame, no server close)."""
    if record is None or record.get("ok") is not True:
        return None
    return value


def run_ok(run: dict | None):
    return run is not None and run.get("ok") is True


def noise_by_run(marks: list[dict]) -> dict[str, dict]:
    """Pairs "<label> start" / "<label> end" marks: foreign CPU = machine busy − our processes."""
    starts = {}
    out = {}
    for m in marks:
        label = m["label"]
        if label.endswith(" start"):
            starts[label[:-6]] = m
        elif label.endswith(" end") and label[:-4] in starts:
            a = starts[label[:-4]]
            wall = max(1e-9, m["time"] - a["time"])
            busy = m["busy_s"] - a["busy_s"]
            ours = (m["nodes_cpu_s"] - a["nodes_cpu_s"]) + (m["children_cpu_s"] - a["children_cpu_s"])
            out[label[:-4]] = {"wall_s": wall, "busy_cores": busy / wall, "ours_cores": ours / wall,
                               "foreign_cores": max(0.0, busy - ours) / wall, "load1": a["loadavg"][0]}
    return out


def cmd_summarize(args: list[str]) -> int:
    out_dir = Path(args[0])
    meta = json.loads((out_dir / "meta.json").read_text()) if (out_dir / "meta.json").exists() else {}
    fm_node = read_jsonl(out_dir / "findmax-node.jsonl")
    fm_cluster = read_jsonl(out_dir / "findmax-cluster.jsonl")
    lat = read_jsonl(out_dir / "latency-cluster.jsonl")
    fan_node = read_jsonl(out_dir / "fanout-node.jsonl")
    fan_cluster = read_jsonl(out_dir / "fanout-cluster.jsonl")
    idle = read_jsonl(out_dir / "idle-node.jsonl")
    # The same cluster scenarios with successor replication (factor 0: one copy on the next node).
    fm_succ = read_jsonl(out_dir / "findmax-cluster-successor.jsonl")
    lat_succ = read_jsonl(out_dir / "latency-cluster-successor.jsonl")
    fan_succ = read_jsonl(out_dir / "fanout-cluster-successor.jsonl")
    marks = read_jsonl(out_dir / "noise.jsonl")
    runs_meta = read_jsonl(out_dir / "runs.jsonl")
    noise = noise_by_run(marks)

    def steps_ok(rec: dict, target: str) -> bool:
        steps = dig(rec, target, "steps") or []
        return bool(steps) and all(s.get("run", {}).get("ok") for s in steps)

    def findmax(rec: dict, target: str):
        # max_rate counts when every step of that search was a correct run.
        if not steps_ok(rec, target):
            return None
        return dig(rec, target, "max_rate")

    n_runs = max(len(fm_node), len(fm_cluster), len(lat), len(fan_node), len(fan_cluster), len(idle), 1)

    def per_run(records, fn):
        return [fn(records[i]) if i < len(records) else None for i in range(n_runs)]

    node_max = per_run(fm_node, lambda r: findmax(r, "nodes"))
    bc_max = per_run(fm_node, lambda r: findmax(r, "broadcast"))
    node_ratio = [a / b if a is not None and b else None for a, b in zip(node_max, bc_max)]
    cl_max = per_run(fm_cluster, lambda r: findmax(r, "nodes"))
    cl_ratio = [a / b if a is not None and b else None for a, b in zip(cl_max, bc_max)]
    members = meta.get("members", 50)
    cl_deliv = [v * members if v is not None else None for v in cl_max]

    def lat_fig(target, key, pct):
        return per_run(lat, lambda r: ok_value(r.get(target), dig(r, target, key, pct)))

    lat_p50 = lat_fig("nodes", "e2e_ms", "p50")
    lat_p99 = lat_fig("nodes", "e2e_ms", "p99")
    lat_p999 = lat_fig("nodes", "e2e_ms", "p999")
    lat_bc_p99 = lat_fig("broadcast", "e2e_ms", "p99")
    lat_diff = [a - b if a is not None and b is not None else None for a, b in zip(lat_p99, lat_bc_p99)]
    lat_ack = lat_fig("nodes", "ack_ms", "p99")
    lat_lag = lat_fig("nodes", "send_lag_ms", "p99")
    lat_rate = per_run(lat, lambda r: ok_value(r.get("nodes"), dig(r, "nodes", "sends_per_s")))
    succ_max = per_run(fm_succ, lambda r: findmax(r, "nodes"))

    def plain(r: dict) -> dict:
        # A run without --compare-broadcast prints its one target's record at the top level.
        return {"nodes": r} if r.get("target") == "nodes" else r

    succ_p99 = per_run(lat_succ, lambda r: ok_value(plain(r).get("nodes"), dig(plain(r), "nodes", "e2e_ms", "p99")))
    succ_ack = per_run(lat_succ, lambda r: ok_value(plain(r).get("nodes"), dig(plain(r), "nodes", "ack_ms", "p99")))

    def fan(records, target):
        return per_run(records, lambda r: ok_value(r.get(target), dig(r, target, "delivered_per_s")))

    fn_node, fn_bc = fan(fan_node, "nodes"), fan(fan_node, "broadcast")
    fc_node, fc_bc = fan(fan_cluster, "nodes"), fan(fan_cluster, "broadcast")
    ratio = lambda a, b: [x / y if x is not None and y else None for x, y in zip(a, b)]  # noqa: E731

    idle_node = per_run(idle, lambda r: ok_value(r.get("nodes"), dig(r, "nodes", "kib_per_connection")))
    idle_bc = per_run(idle, lambda r: ok_value(r.get("broadcast"), dig(r, "broadcast", "kib_per_connection")))
    idle_conns = dig(idle[0], "nodes", "connections") if idle else meta.get("idle_connections")
    rate = meta.get("latency_rate", 200)

    figures = [
        Figure("Sustained rate, one node (sends/s; p99 < 50 ms, correct, ≥ 95% of rate achieved)", node_max,
               limit=bc_max, ratio=node_ratio, aim="≥ 60% of the limit",
               aim_met=lambda m, r, l: None if r is None else r >= 0.6),
        Figure("Sustained rate, 3-node cluster (sends/s)", cl_max, limit=bc_max, ratio=cl_ratio, aim="≥ 2,500 sends/s",
               aim_met=lambda m, r, l: m >= 2500),
        Figure("  = deliveries/s of the cluster's sustained rate", cl_deliv, aim="≥ 125,000/s",
               aim_met=lambda m, r, l: m >= 125000),
        Figure(f"Latency at {fmt(rate)} sends/s, cluster: e2e p50 (ms)", lat_p50, 2),
        Figure(f"Latency at {fmt(rate)} sends/s, cluster: e2e p99 (ms)", lat_p99, 2, limit=lat_bc_p99,
               ratio=ratio(lat_p99, lat_bc_p99), aim="< 2.5 ms", aim_met=lambda m, r, l: m < 2.5),
        Figure(f"Latency at {fmt(rate)} sends/s, cluster: e2e p99.9 (ms)", lat_p999, 2),
        Figure("  cluster p99 − limit p99 (ms, same run)", lat_diff, 2, aim="≤ 1 ms", aim_met=lambda m, r, l: m <= 1.0),
        Figure("  cluster ack p99 (ms)", lat_ack, 2),
        Figure("  load tool's send lag p99 (ms; its own lateness)", lat_lag, 2),
        Figure("  achieved sends/s", lat_rate, 0),
        Figure(f"Idle, one node, {fmt(idle_conns)} connections: resident KiB per connection", idle_node, 2,
               limit=idle_bc, ratio=ratio(idle_node, idle_bc), aim="< 16 KiB", aim_met=lambda m, r, l: m < 16),
        Figure("Fan-out delivered/s, one node", fn_node, limit=fn_bc, ratio=ratio(fn_node, fn_bc)),
        Figure("Fan-out delivered/s, 3-node cluster", fc_node, limit=fc_bc, ratio=ratio(fc_node, fc_bc)),
    ]
    if fm_succ or lat_succ or fan_succ:
        fs_node = fan([plain(r) for r in fan_succ], "nodes")
        figures += [
            # In these rows the "limit" column is the majority-group figure of the same runs, and the
            # ratio is successor ÷ groups.
            Figure("Successor replication (factor 0; limit column = groups of 3, same runs): sustained rate (sends/s)",
                   succ_max,
                   limit=cl_max, ratio=ratio(succ_max, cl_max)),
            Figure(f"  successor: e2e p99 at {fmt(rate)} sends/s (ms)", succ_p99, 2, limit=lat_p99,
                   ratio=ratio(succ_p99, lat_p99)),
            Figure("  successor: ack p99 (ms)", succ_ack, 2, limit=lat_ack, ratio=ratio(succ_ack, lat_ack)),
            Figure("  successor: fan-out delivered/s, 3-node cluster", fs_node, limit=fc_node, ratio=ratio(fs_node, fc_node)),
        ]
    header = ["figure", "median", "min", "max", "broadcast limit (median)", "ratio to limit: median (min–max)", "aim",
              "runs counted"]
    table = markdown_table(header, [f.row() for f in figures])

    # per-run detail
    def cell(v, d=0):
        return fmt(v, d)

    detail_rows = []
    for i in range(n_runs):
        run_no = i + 1
        foreign = [v["foreign_cores"] for k, v in noise.items() if k.startswith(f"run{run_no} ")]
        detail_rows.append([
            str(run_no), f"{cell(node_max[i])} / {cell(bc_max[i])}", cell(cl_max[i]),
            f"{cell(lat_p50[i], 2)} / {cell(lat_p99[i], 2)} / {cell(lat_p999[i], 2)}", cell(lat_bc_p99[i], 2),
            f"{cell(idle_node[i], 2)} / {cell(idle_bc[i], 2)}",
            f"{cell(fn_node[i])} / {cell(fn_bc[i])}", f"{cell(fc_node[i])} / {cell(fc_bc[i])}",
            "-" if not foreign else f"{statistics.mean(foreign):.2f} (max {max(foreign):.2f})",
        ])
    detail = markdown_table(
        ["run", "sustained node / limit", "sustained cluster", "cluster e2e p50 / p99 / p99.9", "limit p99",
         "idle KiB/conn node / limit", "fan-out node / limit", "fan-out cluster / limit",
         "other processes' CPU, cores (mean of its scenarios)"], detail_rows)

    # failures
    problems = []
    for rm in runs_meta:
        if rm.get("exit") not in (0, None) or rm.get("json") is False:
            problems.append(f"- {rm.get('scenario')} run {rm.get('run')}: chat-bench exit {rm.get('exit')}"
                            + ("" if rm.get("json", True) else ", no JSON line") + f" (log: {rm.get('log')})")
    for name, records in (("findmax-node", fm_node), ("findmax-cluster", fm_cluster), ("latency-cluster", lat),
                          ("fanout-node", fan_node), ("fanout-cluster", fan_cluster), ("idle-node", idle)):
        for i, r in enumerate(records):
            for target in ("nodes", "broadcast"):
                t = r.get(target)
                if isinstance(t, dict):
                    fails = list(t.get("failures") or [])
                    for s in t.get("steps") or []:
                        fails += [f"step {fmt(dig(s, 'run', 'rate'))}/s: {f}" for f in (dig(s, "run", "failures") or [])]
                    if fails:
                        problems.append(f"- {name} run {i + 1} {target}: " + "; ".join(fails[:4]))
            if r.get("error"):
                problems.append(f"- {name} run {i + 1}: {r['error']}")
            if r.get("mode") == "find-max":
                for target in ("nodes", "broadcast"):
                    steps = dig(r, target, "steps") or []
                    if steps and all(s.get("passed") for s in steps):
                        problems.append(f"- {name} run {i + 1} {target}: every step passed (the search stopped at "
                                        f"--max-steps or --max-rate): {fmt(dig(r, target, 'max_rate'))} is a lower bound")
                    elif steps and len(steps) >= meta.get("find_max_steps", 10**9):
                        best = dig(r, target, "max_rate")
                        failing = min((dig(s, "run", "rate") for s in steps if not s.get("passed")), default=None)
                        if best and failing and failing - best > meta.get("find_max_resolution", 0.05) * best:
                            problems.append(f"- {name} run {i + 1} {target}: stopped at --max-steps between "
                                            f"{fmt(best)} (pass) and {fmt(failing)} (fail) sends/s")
                    if steps and not any(s.get("passed") for s in steps):
                        problems.append(f"- {name} run {i + 1} {target}: no step passed (not even "
                                        f"{fmt(dig(steps[0], 'run', 'rate'))} sends/s)")

    # machine and noise
    load_start = meta.get("loadavg_start", "?")
    end_mark = next((m for m in reversed(marks) if m["label"] == "bench end"), None)
    start_mark = next((m for m in marks if m["label"] == "bench start"), None)
    load_end = " ".join(f"{x:.2f}" for x in end_mark["loadavg"]) if end_mark else "?"
    foreign_all = [v["foreign_cores"] for k, v in noise.items() if k != "bench"]
    whole = noise.get("bench")
    cores = meta.get("cores", 0) or 1
    if foreign_all:
        mean_f = statistics.mean(foreign_all)
        verdict = "quiet" if mean_f < 0.1 * cores and max(foreign_all) < 0.25 * cores else (
            "somewhat noisy" if mean_f < 0.25 * cores else "noisy")
        noise_line = (f"Other processes (not started by the bench) used on average {mean_f:.2f} of {cores} cores while "
                      f"scenarios ran (least {min(foreign_all):.2f}, most {max(foreign_all):.2f} in one scenario): "
                      f"{verdict}.")
    else:
        noise_line = "Noise: not measured."
    elapsed = (end_mark["time"] - start_mark["time"]) if end_mark and start_mark else None
    machine = (f"Machine: {meta.get('cores', '?')} cores (nproc), {meta.get('mem_gib', '?')} GiB (MemTotal), "
               f"{meta.get('os', '')}; load average (1/5/15 min) {load_start} at start, {load_end} at end. "
               + noise_line)
    settings = (f"Command: `{meta.get('command', 'scripts/bench.sh')}` — {meta.get('runs', '?')} run(s) per scenario"
                f"{' (BENCH_QUICK)' if meta.get('quick') else ''}, fan-out/latency {meta.get('duration', '?')} s, "
                f"find-max steps of {meta.get('find_max_duration', '?')} s (start {meta.get('find_max_start', '?')} sends/s, "
                f"at most {meta.get('find_max_steps', '?')} steps, resolution {meta.get('find_max_resolution', '?')}), "
                f"idle {meta.get('idle_connections', '?')} connections held {meta.get('idle_hold', '?')} s. "
                f"Shape: {meta.get('rooms', 4)} rooms × {members} members, {meta.get('senders', 5)} senders per room, "
                f"{meta.get('text_bytes', 64)}-byte texts, clients round-robin over the nodes; nodes and chat-bench release "
                f"builds on 127.0.0.1, history in memory (no Redis). Commit {meta.get('git', '?')}."
                + (f" Took {elapsed / 60:.1f} min." if elapsed else ""))
    notes = [
        "- The broadcast limit is `chat-bench broadcast-server` (started by chat-bench with `--compare-broadcast`) "
        "measured in the same invocation; ratios are computed per run, then the median is taken.",
        "- Sustained rate: `chat-bench latency --find-max` (rate doubles from the start, then bisects); a step passes "
        "when the run is correct (nothing lost/duplicated/reordered/unacked), e2e p99 < 50 ms and ≥ 95% of the "
        "rate was achieved (the senders were not late). The cluster's ratio uses the limit of the one-node search of "
        "the same run; the cluster search has no broadcast pass of its own.",
        "- A figure counts only from a run whose check passed (\"runs counted\").",
    ]
    if meta.get("idle_note"):
        notes.append("- " + meta["idle_note"])
    md = "\n\n".join([
        "## chat-bench (issue 5)",
        machine,
        settings,
        table,
        "Per run (other processes' CPU: machine busy time minus the CPU of every process the bench started):",
        detail,
        "\n".join(notes),
        "Problems and caveats:\n" + ("\n".join(problems) if problems else "none (every run's check passed, every search found its limit)"),
    ]) + "\n"
    (out_dir / "summary.md").write_text(md)
    print(md)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    handlers = {"free-ports": cmd_free_ports, "cluster-file": cmd_cluster_file, "cluster-formed": cmd_cluster_formed,
                "mark": cmd_mark, "summarize": cmd_summarize}
    if cmd not in handlers:
        print(__doc__, file=sys.stderr)
        return 2
    return handlers[cmd](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
