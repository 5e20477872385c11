#!/usr/bin/env python3
"""The benchmarks' one table (tests/bench/run.sh).

  figures.py table RUN_DIR OUT.tsv KEY=VALUE...
      reads what run.sh left in RUN_DIR (ID.K.out: each bench's output, in
      which every figure is a line "FIGURE name value unit stat"; status: one
      line per run, "ID K EXIT SECONDS LABEL"), prints the table and writes
      it as TSV to OUT.tsv, the KEY=VALUE pairs (commit, date, cores ...)
      first as "# key<TAB>value" lines. Exits 1 when a bench failed.
  figures.py compare OLD.tsv NEW.tsv [--old-name NAME]
      each figure's ratio new/old, and whether that is better or worse.

The TSV: "#" lines (the run's particulars), then a header line and one line
per figure: figure, value, unit, stat, bench, better (higher, lower or
blank), label. A value that is not a number ("-") was not measured; its stat
says why. Figures a bench prints beyond the table's rows are in the TSV too.
"""
import os
import re
import statistics
import sys

# The table's rows: (figure, label, better). Sections start with "#".
ROWS = [
    "# ingest",
    ("ingest_import_ops_s", "bulk CSV import, one signed op per child (CLI)", "higher"),
    ("ingest_fill_ops_s", "day-to-day ops in one transaction", "higher"),
    ("bundle_large_import_ops_s", "USB bundle import, the large bundle", "higher"),
    "# verify",
    ("verify_ops_s", "verify: signatures, chains, model, fresh projection", "higher"),
    ("verify_bound_ratio", "Ed25519 alone over the same ops / verify", "lower"),
    ("ed25519_verify_ops_s", "Ed25519 verify alone (this machine's speed)", "higher"),
    ("rebuild_ops_s", "rebuild the projection from the log", "higher"),
    "# sync",
    ("sync_ops_s", "initial sync of a township from the county", "higher"),
    ("sync_initial_s", "  its wall time", "lower"),
    ("sync_round_trips", "  its round trips", "lower"),
    ("days7_slowlink_sync_s", "a week of a village (209 ops), 64 kbit/s + 600 ms", "lower"),
    ("county_convergence_s", "county convergence after the last link returns", "lower"),
    ("county_first_sync_s", "county first sync, all villages loaded", "lower"),
    "# bytes",
    ("op_bytes_encoded", "a signed op, encoded", "lower"),
    ("sync_msg_bytes_per_op", "initial sync: sync messages", "lower"),
    ("sync_wire_bytes_per_op", "initial sync: packed (zstd) and sealed", "lower"),
    ("urgent_push_wire_bytes_per_op", "a village's backlog push: packed and sealed", "lower"),
    ("bundle_large_bytes_per_op", "USB bundle file", "lower"),
    ("db_bytes_per_op", "database on disk", "lower"),
    ("day_sync_bytes", "a village's day (30 ops): one sync, both ways", "lower"),
    ("days7_sync_bytes", "a village's week (209 ops): one sync, both ways", "lower"),
    "# idle sync",
    ("idle_round_trips", "round trips after the handshake", "lower"),
    ("idle_bytes_up_per_rt", "up, per round trip (sync message, sealed)", "lower"),
    ("idle_bytes_down_per_rt", "down, per round trip (sync message, sealed)", "lower"),
    ("idle_wire_up", "up, whole sync with the handshake (packed, sealed)", "lower"),
    ("idle_wire_down", "down, whole sync with the handshake (packed, sealed)", "lower"),
    "# urgent report (village -> township -> county, 64 kbit/s, 600 ms)",
    ("urgent_latency_median_s", "at the county after the link comes up", "lower"),
    ("urgent_latency_max_s", "  the slowest run", "lower"),
    ("urgent_backlog_held_max", "backlog ops at the county before it (most)", "lower"),
    "# peak RSS per node kind",
    ("rss_county_serve_mb", "county serve (serving a township's initial sync)", "lower"),
    ("rss_township_serve_mb", "township serve (serving a village, syncing up)", "lower"),
    ("rss_village_serve_mb", "village serve (pulling its village)", "lower"),
    ("rss_tasks_mb", "CLI tasks at county scale", "lower"),
    ("rss_verify_mb", "CLI verify", "lower"),
    ("rss_import_mb", "CLI bulk import", "lower"),
    ("bundle_large_import_rss_mb", "CLI bundle import, the large bundle", "lower"),
    "# the county's duties and the web pages' reads, at county scale",
    ("tasks_s", "tasks", "lower"),
    ("tasks_summary_s", "tasks --summary", "lower"),
    ("meeting_s", "meeting", "lower"),
    ("reports_s", "reports", "lower"),
    ("page_overview_county_s", "page: overview, county", "lower"),
    ("page_overview_township_s", "page: overview, township", "lower"),
    ("page_children_list_s", "page: children list, one village", "lower"),
]

# which bench prints which figure (for rows a bench did not print)
SOURCE = [
    ("store", ("ingest_import", "ingest_fill", "verify_", "ed25519", "rebuild", "db_", "rss_import",
               "rss_verify", "rss_rebuild")),
    ("sync", ("sync_", "op_bytes_encoded", "idle_", "rss_county", "rss_township", "rss_village",
              "village_serve")),
    ("day", ("day_",)),
    ("week", ("days7_",)),
    ("bundle", ("bundle_",)),
    ("urgent", ("urgent_",)),
    ("tasks", ("tasks", "meeting", "reports", "page_", "rss_tasks", "county_children", "county_ops",
               "county_tasks")),
    ("simulation", ("county_convergence", "county_first_sync")),
]
BENCH_NAMES = {"store": "bench_store", "sync": "bench_sync.sh", "day": "bench_day.sh",
               "week": "bench_day.sh 7", "bundle": "bench_bundle.sh", "urgent": "bench_urgent.sh",
               "tasks": "bench_tasks.sh", "simulation": "deploy/simulate.sh"}


def source_of(name):
    for bench, prefixes in SOURCE:
        if name.startswith(prefixes):
            return bench
    return ""


def number(v):
    try:
        return float(v)
    except ValueError:
        return None


def scrape_simulation(text):
    """deploy/simulate.sh prints sentences, not FIGURE lines (yet): its
    convergence times, from its own words."""
    out = []
    m = re.search(r"converged ([0-9.]+) s after the last link returned", text)
    if m:
        out.append(("county_convergence_s", m.group(1), "s", "1 run, from its text"))
    elif re.search(r"NOT converged within", text):
        out.append(("county_convergence_s", "-", "s", "NOT converged (see the log)"))
    m = re.search(r"first sync converged: ([0-9.]+) s", text)
    if m:
        out.append(("county_first_sync_s", m.group(1), "s", "1 run, from its text"))
    return out


def fmt(v):
    """A figure's value as the table shows it: thousands apart, no noise."""
    x = number(v)
    if x is None:
        return v
    if abs(x) >= 1000:
        return "{:,.0f}".format(x)
    if x == int(x) and "." not in v:
        return "%d" % x
    return v if len(v) <= 8 else "%.4g" % x


def table(run_dir, out, meta):
    status = {}  # bench -> list of (k, exit, seconds, label)
    for line in open(os.path.join(run_dir, "status")) if os.path.exists(
            os.path.join(run_dir, "status")) else []:
        bench, k, rc, secs, label = line.rstrip("\n").split("\t")
        status.setdefault(bench, []).append((k, rc, secs, label))

    # every figure of every run: name -> {unit, stat, bench, values[]}
    figs, order = {}, []
    for bench, runs in status.items():
        for k, rc, secs, label in runs:
            path = os.path.join(run_dir, "%s.%s.out" % (bench, k))
            if rc == "skip" or not os.path.exists(path):
                continue
            text = open(path, encoding="utf-8", errors="replace").read()
            found = []
            for line in text.splitlines():
                if line.startswith("FIGURE "):
                    p = line.split(None, 4)
                    if len(p) >= 4:
                        found.append((p[1], p[2], p[3], p[4] if len(p) > 4 else ""))
            if bench == "simulation" and not any(f[0] == "county_convergence_s" for f in found):
                found += scrape_simulation(text)
            for name, value, unit, stat in found:
                if name not in figs:
                    figs[name] = {"unit": unit, "stat": stat, "bench": bench, "values": []}
                    order.append(name)
                if number(value) is not None:
                    figs[name]["values"].append(float(value))
                    figs[name].setdefault("raw", []).append(value)
                else:
                    figs[name]["why"] = stat

    def why_missing(name):  # short: the value "-" says "not measured"
        bench = source_of(name)
        runs = status.get(bench)
        if not runs:
            return "not run"
        if runs[0][1] == "skip":
            return runs[0][3]
        failed = [r for r in runs if r[1] != "0"]
        if failed:
            return "failed (exit %s)" % failed[0][1]
        return "not printed"

    rows = []  # figure, value, unit, stat, bench, better, label
    labels = {r[0]: (r[1], r[2]) for r in ROWS if not isinstance(r, str)}
    for name in [r[0] for r in ROWS if not isinstance(r, str)] + [n for n in order if n not in labels]:
        label, better = labels.get(name, (name, None))
        if better is None:  # a figure beyond the table's rows: by its unit
            better = {"ops/s": "higher", "s": "lower", "B": "lower", "B/op": "lower",
                      "MB": "lower"}.get(figs[name]["unit"] if name in figs else "", "")
        f = figs.get(name)
        bench = f["bench"] if f else source_of(name)
        if f and f["values"]:
            vals = f["values"]
            if len(vals) == 1:
                value, stat = f["raw"][0], f["stat"]
            else:
                # as many decimals as the bench gave
                places = max(len(v.partition(".")[2]) for v in f["raw"])
                value = "%.*f" % (places, statistics.median(vals))
                stat = "median of %d runs (%.4g..%.4g)" % (len(vals), min(vals), max(vals))
                if f["stat"] and f["stat"] != "1 run":
                    stat += ", each " + f["stat"]
            rows.append([name, value, f["unit"], stat, BENCH_NAMES.get(bench, bench), better, label.strip()])
        else:
            unit = f["unit"] if f else ""
            why = f["why"] if f and "why" in f else why_missing(name)
            rows.append([name, "-", unit, why, BENCH_NAMES.get(bench, bench), better, label.strip()])

    with open(out, "w", encoding="utf-8") as t:
        t.write("# carenode benchmarks (tests/bench/run.sh)\n")
        for kv in meta:
            k, _, v = kv.partition("=")
            t.write("# %s\t%s\n" % (k, v.replace("\t", " ")))
        for bench, runs in status.items():
            for k, rc, secs, label in runs:
                t.write("# run\t%s\t%s\texit %s\t%s s\n" % (bench, k, rc, secs))
        t.write("figure\tvalue\tunit\tstat\tbench\tbetter\tlabel\n")
        for r in rows:
            t.write("\t".join(c.replace("\t", " ") for c in r) + "\n")

    # the table on the terminal
    m = dict(kv.partition("=")[::2] for kv in meta)
    print()
    print("carenode benchmarks: commit %s, %s, %s cores (%s)" % (m.get("commit"), m.get("date"),
                                                                  m.get("cores"), m.get("cpu", "")))
    print("size: %s: %s%s" % (m.get("size"), m.get("sizes"),
                              "; each bench %s times" % m["repeat"] if m.get("repeat", "1") != "1" else ""))
    print("load: %s; %s in all" % (m.get("load"), m.get("wall")))
    byname = {r[0]: r for r in rows}
    w0 = max(len(r[1]) for r in ROWS if not isinstance(r, str)) + 2
    print()
    print("%-*s %12s  %-11s %-21s %s" % (w0, "figure", "value", "unit", "how", "bench"))
    for r in ROWS:
        if isinstance(r, str):
            print(r[2:] if r.startswith("# ") else r)
            continue
        name, value, unit, stat, bench, better, label = byname[r[0]]
        how = stat if value == "-" else stat.split(",")[0]  # the whole stat is in the TSV
        print("  %-*s %12s  %-11s %-21s %s" % (w0 - 2, r[1], fmt(value), unit, how, bench))
    extra = [r for r in rows if r[0] not in labels]
    if extra:
        print("(%d more figures, context for the above, in the TSV)" % len(extra))
    failed = [(b, r) for b, runs in status.items() for r in runs if r[1] not in ("0", "skip")]
    for b, r in failed:
        print("FAILED: %s%s (exit %s): see the log" % (r[3], "" if len(status[b]) == 1 else ", run " + r[0], r[1]))
    return 1 if failed else 0


def read_tsv(path):
    meta, rows = {}, {}
    header = None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("# "):
            k, _, v = line[2:].partition("\t")
            if k != "run":
                meta[k] = v
            continue
        cols = line.split("\t")
        if header is None:
            header = cols
            continue
        r = dict(zip(header, cols))
        rows[r["figure"]] = r
    return meta, rows


def compare(old_path, new_path, old_name=None):
    om, orows = read_tsv(old_path)
    nm, nrows = read_tsv(new_path)
    print()
    print("new / old: %s against %s" % (new_path, old_name or old_path))
    for k in ("commit", "date", "cores", "size"):
        print("  %-7s new %s | old %s" % (k, nm.get(k, "?"), om.get(k, "?")))
    if nm.get("size") != om.get("size"):
        print("  WARNING: the sizes differ; the ratios compare different work")
    np_, op_ = nm.get("sizes", "").split("; "), om.get("sizes", "").split("; ")
    if np_ != op_:
        print("  note, sizes that differ: new %s | old %s"
              % ("; ".join(x for x in np_ if x not in op_), "; ".join(x for x in op_ if x not in np_)))
    if nm.get("cores") != om.get("cores") or nm.get("cpu") != om.get("cpu"):
        print("  WARNING: a different machine; see ed25519_verify_ops_s for its speed")
    print("  (better/worse: beyond 10%; on a shared machine 10-30% is often noise)")
    names = [n for n in nrows] + [n for n in orows if n not in nrows]
    w0 = max(len(n) for n in names) + 2
    print("  %-*s %12s %12s %-11s %8s" % (w0, "figure", "old", "new", "unit", "new/old"))
    for n in names:
        o, nw = orows.get(n), nrows.get(n)
        ov = number(o["value"]) if o else None
        nv = number(nw["value"]) if nw else None
        unit = (nw or o)["unit"]
        better = (nw or o).get("better", "")
        if ov is None or nv is None:
            ratio, verdict = "-", ""
        elif ov == 0:
            ratio, verdict = ("1.00" if nv == 0 else "-"), ""
        else:
            q = nv / ov
            ratio = "%.2f" % q
            verdict = ""
            if better and abs(q - 1) > 0.10:
                verdict = "better" if (q > 1) == (better == "higher") else "worse"
        print("  %-*s %12s %12s %-11s %8s %s" % (w0, n, fmt(o["value"]) if o else "(none)",
                                              fmt(nw["value"]) if nw else "(none)", unit, ratio, verdict))
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "table":
        return table(argv[2], argv[3], argv[4:])
    if len(argv) >= 4 and argv[1] == "compare":
        name = argv[argv.index("--old-name") + 1] if "--old-name" in argv else None
        return compare(argv[2], argv[3], name)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
