#!/usr/bin/python3
"""bench-report - writes docs/benchmarks.md and its plots from scripts/bench's records.

Usage: bench-report.py REPORT_DIR OUTPUT.md PLOT_DIR

REPORT_DIR holds machine.json and one STEP.jsonl per measurement step: one JSON record a
line, {"bench", "case": {label: value}, "metric", "unit", "values": [...]} or a time series
{"bench", "case", "series", "points": [[t, v], ...]} (benches/report/mod.rs writes them).
A figure is the median of its values; a ratio is ours / theirs from the same run. Missing
steps leave their rows out and are listed as not measured. Plots are SVG, drawn with
matplotlib (Debian's python3-matplotlib, which scripts/bench installs when missing;
without it the page is written without plots).
"""

import glob
import json
import os
import statistics
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # the backend must be chosen first

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "svg.hashsalt": "director"})
except ImportError:  # the page is still written, without its plots (and says so)
    plt = None


# ------------------------------------------------------------------ records
class Records:
    def __init__(self, directory):
        self.figures, self.series, self.steps = [], [], set()
        for path in sorted(glob.glob(os.path.join(directory, "*.jsonl"))):
            self.steps.add(os.path.basename(path)[: -len(".jsonl")])
            with open(path, encoding="utf-8") as f:
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        r = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    (self.series if "series" in r else self.figures).append(r)
        path = os.path.join(directory, "machine.json")
        self.machine = {}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                self.machine = json.load(f)

    def values(self, bench, metric, **case):
        out = []
        for r in self.figures:
            if r["bench"] == bench and r["metric"] == metric and all(
                r["case"].get(k) == v for k, v in case.items()
            ):
                out.extend(r["values"])
        return out

    def median(self, bench, metric, **case):
        v = self.values(bench, metric, **case)
        return statistics.median(v) if v else None

    def cases(self, bench, key, **case):
        seen = []
        for r in self.figures:
            if r["bench"] == bench and all(r["case"].get(k) == v for k, v in case.items()):
                value = r["case"].get(key)
                if value is not None and value not in seen:
                    seen.append(value)
        return seen

    def timeline(self, bench, name, **case):
        for r in self.series:
            if r["bench"] == bench and r["series"] == name and all(
                r["case"].get(k) == v for k, v in case.items()
            ):
                return r["points"]
        return None


# ------------------------------------------------------------------ formatting
def fmt(v, unit):
    if v is None:
        return "–"
    if unit == "s":
        return f"{v * 1000:.1f} ms" if v < 0.1 else f"{v:.2f} s"
    if unit == "share":
        return f"{v * 100:.1f} %"
    if unit == "%":
        return f"{v:.2f} %"
    if unit == "MiB":
        return f"{v:.1f} MiB"
    if unit == "1/s":
        return f"{v:,.0f}/s"
    return f"{v:g} {unit}"


def spread(values, unit):
    if not values:
        return "–"
    m = fmt(statistics.median(values), unit)
    if len(values) == 1:
        return m
    return f"{m} ({fmt(min(values), unit)}–{fmt(max(values), unit)}, n={len(values)})"


def ratio(ours, theirs):
    # A zero is a figure below the measurement's resolution (idle CPU under one clock tick):
    # no ratio to speak of.
    if ours is None or theirs is None or ours == 0 or theirs == 0:
        return "–"
    return f"**{ours / theirs:.2f}×**"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------ the page
class Page:
    def __init__(self, rec, plot_dir, md_dir):
        self.rec, self.plot_dir, self.md_dir = rec, plot_dir, md_dir
        self.parts, self.glance, self.broken = [], [], []
        os.makedirs(plot_dir, exist_ok=True)

    def add(self, text):
        self.parts.append(text)

    def compare(self, what, ours, theirs, reference, unit, lower_is_better=True):
        """One row of the summary: our figure, the reference's, ours/theirs (both needed)."""
        if ours is None or theirs is None:
            return
        better = "lower is better" if lower_is_better else "higher is better"
        self.glance.append(
            (what, fmt(ours, unit), reference, fmt(theirs, unit), ratio(ours, theirs), better)
        )

    def draw(self, name, alt, size, paint, panels=1):
        """A plot: `paint(ax)` (with panels > 1: a list of stacked axes sharing x) draws it;
        saved as PLOT_DIR/name.svg and linked from the page."""
        if plt is None:
            return
        fig, ax = plt.subplots(panels, 1, figsize=size, sharex=True)
        paint(ax)
        path = os.path.join(self.plot_dir, name + ".svg")
        fig.tight_layout()
        fig.savefig(path, metadata={"Date": None})
        plt.close(fig)
        rel = os.path.relpath(path, self.md_dir)
        self.add(f"![{alt}]({rel})")


def ospf_section(page, rec):
    b = "ospf_convergence"
    routers = rec.cases(b, "router")
    if not routers:
        return
    metrics = [
        ("start_route", "start → 2 nexthops (first traffic via both)"),
        ("start_full", "start → Full"),
        ("withdraw", "withdraw → route dropped"),
        ("restore", "re-announce → 2 stable"),
        ("sigterm", "SIGTERM (graceful) → dropped"),
        ("sigterm_exit", "SIGTERM → process exited"),
        ("restart", "restart → 2 stable"),
        ("sigkill", "SIGKILL (crash) → dropped"),
    ]
    page.add("## OSPF: directord vs BIRD vs FRR as directors\n")
    page.add(
        "Two directors on one bridge announce the same two VIPs to one upstream router; every "
        "figure is the time until the router's kernel route shows the change (scripts/lab/bench-ospf, "
        "tests/ospf_bench.rs). Ratios are directord / the other speaker, same router, same timers, "
        "same run: below 1 means directord is faster.\n"
    )
    for router in routers:
        for timers in rec.cases(b, "timers", router=router):
            kinds = rec.cases(b, "director", router=router, timers=timers)
            header = ["event"] + kinds + [f"directord / {k}" for k in kinds if k != "directord"]
            rows = []
            for metric, label in metrics:
                med = {
                    k: rec.median(b, metric, router=router, timers=timers, director=k) for k in kinds
                }
                row = [label] + [
                    spread(rec.values(b, metric, router=router, timers=timers, director=k), "s") for k in kinds
                ]
                row += [ratio(med.get("directord"), med[k]) for k in kinds if k != "directord"]
                rows.append(row)
            page.add(f"Router {router}, hello/dead {timers} s:\n\n" + table(header, rows) + "\n")
        # The summary uses the fast timers when measured (what a production site tunes).
        timers = "1/4" if "1/4" in rec.cases(b, "timers", router=router) else None
        if timers is None:
            continue
        for other in ("BIRD", "FRR"):
            for metric, what in [
                ("start_route", "start → first traffic via both directors"),
                ("sigterm", "graceful failover (SIGTERM → route dropped)"),
                ("sigkill", "crash failover (SIGKILL → route dropped)"),
            ]:
                page.compare(
                    f"OSPF {what}, router {router}, hello/dead 1/4",
                    rec.median(b, metric, router=router, timers=timers, director="directord"),
                    rec.median(b, metric, router=router, timers=timers, director=other),
                    f"{other} as director",
                    "s",
                )
    page.add(
        "\"SIGTERM → process exited\" is long for directord by design: it flushes its LSAs, waits "
        "for every neighbor's acknowledgment and then 1.1 s more (BIRD's route tick) before it exits "
        "(docs/ospf.md, graceful shutdown), where BIRD and FRR exit at once. \"SIGKILL → dropped\" "
        "is the OSPF dead interval; BFD (docs/bfd.md) shortens it.\n"
    )
    # Convergence timeline: when each event completed, per speaker, fast timers.
    router = routers[0]
    timers = "1/4" if "1/4" in rec.cases(b, "timers", router=router) else rec.cases(b, "timers", router=router)[0]
    kinds = rec.cases(b, "director", router=router, timers=timers)
    shown = [(m, l) for m, l in metrics if m not in ("start_full", "sigterm_exit")]
    width = 0.8 / max(len(kinds), 1)

    def paint(ax):
        for i, k in enumerate(kinds):
            ys = [j + i * width for j in range(len(shown))]
            xs = [rec.median(b, m, router=router, timers=timers, director=k) or 0 for m, _ in shown]
            ax.barh(ys, xs, height=width, label=k)
        ax.set_yticks([j + width * (len(kinds) - 1) / 2 for j in range(len(shown))])
        ax.set_yticklabels([l for _, l in shown])
        ax.invert_yaxis()
        ax.set_xlabel(f"seconds until the router's route shows it (router {router}, hello/dead {timers})")
        ax.legend()
        ax.grid(axis="x", alpha=0.3)

    page.draw("ospf-convergence", "OSPF convergence per event and speaker", (7.5, 3.2), paint)
    page.add("")


def ospf_many_section(page, rec):
    b = "ospf_many"
    kinds = rec.cases(b, "director")
    if not kinds:
        return
    n = rec.cases(b, "vips")[0]
    page.add(f"## {n} VIPs: time to all routes, idle CPU and RSS of the speaker\n")
    rows = []
    for k in kinds:
        rows.append(
            [
                k,
                spread(rec.values(b, "all_routes", director=k), "s"),
                spread(rec.values(b, "rss_idle", director=k), "MiB"),
                spread(rec.values(b, "cpu_idle", director=k), "%"),
            ]
        )
    page.add(
        table(["speaker", f"start → all {n} routes with 2 nexthops", "RSS idle", "CPU idle (% of one core)"], rows)
        + "\n"
    )
    for other in ("BIRD", "FRR"):
        page.compare(f"{n} VIPs: start → all routes", rec.median(b, "all_routes", director="directord"),
                     rec.median(b, "all_routes", director=other), f"{other} as director", "s")
        page.compare(f"OSPF speaker idle RSS, {n} VIPs", rec.median(b, "rss_idle", director="directord"),
                     rec.median(b, "rss_idle", director=other), f"{other} as director", "MiB")
        page.compare(f"OSPF speaker idle CPU, {n} VIPs", rec.median(b, "cpu_idle", director="directord"),
                     rec.median(b, "cpu_idle", director=other), f"{other} as director", "%")


def vrrp_section(page, rec):
    b = "vrrp_failover"
    if not rec.cases(b, "impl"):
        return
    page.add("## VRRP master-backup: directord vs keepalived\n")
    page.add(
        "Two nodes, priorities 100 → 90, the same keepalived.conf text for both implementations "
        "(benches/vrrp_failover.rs): time from stopping the master until the backup holds the VIP, "
        "and until its first gratuitous ARP is on the wire.\n"
    )
    rows, labels, ours_bars, ka_bars = [], [], [], []
    for version in rec.cases(b, "version"):
        for advert in rec.cases(b, "advert_int", version=version):
            for stop in rec.cases(b, "stop", version=version, advert_int=advert):
                case = dict(version=version, advert_int=advert, stop=stop)
                o = rec.values(b, "failover", impl="directord", **case)
                k = rec.values(b, "failover", impl="keepalived", **case)
                og = rec.values(b, "garp", impl="directord", **case)
                kg = rec.values(b, "garp", impl="keepalived", **case)
                med = lambda v: statistics.median(v) if v else None  # noqa: E731
                rows.append([f"{version}, advert_int {advert} s, {stop}", spread(o, "s"), spread(k, "s"),
                             ratio(med(o), med(k)), spread(og, "s"), spread(kg, "s")])
                labels.append(f"{version} {advert}s {stop}")
                ours_bars.append(med(o) or 0)
                ka_bars.append(med(k) or 0)
                what = "graceful" if stop == "SIGTERM" else "crash"
                page.compare(f"VRRP {what} failover ({stop}), {version}, advert_int {advert} s",
                             med(o), med(k), "keepalived", "s")
    page.add(table(["case", "directord", "keepalived", "ratio", "first GARP, directord", "first GARP, keepalived"], rows) + "\n")

    def paint(ax):
        xs = range(len(labels))
        ax.bar([x - 0.2 for x in xs], ours_bars, width=0.4, label="directord")
        ax.bar([x + 0.2 for x in xs], ka_bars, width=0.4, label="keepalived")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels, rotation=20, ha="right")
        ax.set_yscale("log")
        ax.set_ylabel("seconds until the backup holds the VIP (log)")
        ax.legend()
        ax.grid(axis="y", alpha=0.3)

    page.draw("vrrp-failover", "VRRP failover, directord vs keepalived", (7.5, 3), paint)
    page.add("")


def idle_section(page, rec):
    b = "idle"
    if not rec.cases(b, "impl"):
        return
    page.add("## Idle cost as VRRP master: directord vs keepalived\n")
    rows = []
    for imp in rec.cases(b, "impl"):
        rows.append([imp, spread(rec.values(b, "cpu", impl=imp), "%"), spread(rec.values(b, "rss", impl=imp), "MiB")])
    page.add(table(["implementation", "CPU (% of one core)", "RSS (all processes)"], rows) + "\n")
    for metric, unit in (("cpu", "%"), ("rss", "MiB")):
        page.compare(f"idle {metric.upper()} as VRRP master (v2, advert_int 1 s)",
                     rec.median(b, metric, impl="directord"), rec.median(b, metric, impl="keepalived"),
                     "keepalived", unit)


def health_failover_section(page, rec):
    b = "health_failover"
    if not rec.cases(b, "case"):
        return
    page.add("## Real-server death → tables and routes\n")
    page.add(
        "TCP_CHECK with delay_loop 1, retry 1, delay_before_retry 1, connect_timeout 1; the real "
        "server's listener is SIGKILLed (benches/health_failover.rs). In the IPVS VM both "
        "implementations read the same keepalived.conf text under the same emulation.\n"
    )
    rows = []
    for case in rec.cases(b, "case"):
        for imp in rec.cases(b, "impl", case=case):
            for metric in ("down_logged", "reconciled_logged", "table", "route"):
                v = rec.values(b, metric, case=case, impl=imp)
                if v:
                    rows.append([case, imp, metric.replace("_", " "), spread(v, "s")])
    page.add(table(["setup", "implementation", "until", "time"], rows) + "\n")
    for case in rec.cases(b, "case"):
        if case.startswith("ipvs-vm"):
            page.compare(f"real-server death → out of the IPVS table ({case})",
                         rec.median(b, "table", case=case, impl="directord"),
                         rec.median(b, "table", case=case, impl="keepalived"), "keepalived -C", "s")


def capacity_section(page, rec):
    b = "health_capacity"
    if not rec.cases(b, "impl"):
        return
    page.add("## Health-check capacity and CPU/RSS under load\n")
    page.add(
        "`delay_loop 1` and N real servers, so N checks are due each second; achieved checks/s, "
        "the checker's CPU (100 % = one core) and RSS (benches/health_capacity.rs). On the host "
        "directord runs alone (tables only); keepalived's checker needs IPVS, so the comparison "
        "runs both in the IPVS VM, one after the other.\n"
    )
    rows = []
    for place in rec.cases(b, "place"):
        for checker in rec.cases(b, "checker", place=place):
            for target in rec.cases(b, "target", place=place, checker=checker):
                for imp in rec.cases(b, "impl", place=place, checker=checker, target=target):
                    c = dict(place=place, checker=checker, target=target, impl=imp)
                    rate = rec.median(b, "checks_per_s", **c)
                    cpu = rec.median(b, "cpu", **c)
                    per = cpu / 100 / rate * 1e6 if rate and cpu else None
                    rows.append([place, imp, checker, f"{int(target):,}/s", fmt(rate, "1/s"), fmt(cpu, "%"),
                                 f"{per:.1f} µs" if per else "–", fmt(rec.median(b, "rss", **c), "MiB")])
                c = dict(place="vm", checker=checker, target=target)
                if place == "vm":
                    for metric, unit, what in (("cpu", "%", "CPU"), ("rss", "MiB", "RSS")):
                        page.compare(f"{what} under load: {checker} at {int(target):,} checks/s (IPVS VM)",
                                     rec.median(b, metric, impl="directord", **c),
                                     rec.median(b, metric, impl="keepalived", **c), "keepalived -C", unit)
    page.add(table(["where", "implementation", "checker", "due", "achieved", "CPU", "CPU per check", "RSS"], rows) + "\n")

    def paint(ax):
        for place in rec.cases(b, "place"):
            for checker in rec.cases(b, "checker", place=place):
                for imp in rec.cases(b, "impl", place=place, checker=checker):
                    c = dict(place=place, checker=checker, impl=imp)
                    targets = sorted(rec.cases(b, "target", **c), key=int)
                    xs = [rec.median(b, "checks_per_s", target=t, **c) or 0 for t in targets]
                    ys = [rec.median(b, "cpu", target=t, **c) or 0 for t in targets]
                    ax.plot(xs, ys, marker="o", label=f"{imp}, {checker} ({place})")
        ax.set_xlabel("achieved checks per second")
        ax.set_ylabel("checker CPU (% of one core)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)

    page.draw("health-capacity", "Checker CPU against check rate", (7.5, 3), paint)
    page.add("")


def dataplane_section(page, rec):
    b = "reconcile"
    backends = rec.cases(b, "backend")
    if not backends:
        return
    page.add("## Dataplane programming\n")
    page.add(
        "`reconcile` from empty to S services × R real servers, one weight change, back, and "
        "removal (benches/reconcile.rs): the in-memory model, nftables on the host (one nf_tables "
        "netlink batch per reconcile, Maglev maps of M slots) and IPVS in the VM (generic "
        "netlink). Their baselines: for nftables, a hand-written ruleset of the same services "
        "loaded by `nft -f` (`jhash ip saddr mod R` over an anonymous map, the plain-nft way to "
        "spread a VIP); for IPVS, `ipvsadm -R` of the same tables (one netlink message per "
        "object, the way keepalived programs IPVS). Peak RSS is the bench process's (reset "
        "before each step), or the `nft` process's.\n"
    )
    rows = []
    for backend in backends:
        for tables in rec.cases(b, "tables", backend=backend):
            for step in rec.cases(b, "step", backend=backend, tables=tables):
                c = dict(backend=backend, tables=tables, step=step)
                rows.append([backend, tables, step, spread(rec.values(b, "wall", **c), "s"),
                             fmt(rec.median(b, "peak_rss", **c), "MiB")])
    page.add(table(["backend", "tables", "step", "wall", "peak RSS"], rows) + "\n")
    nft_rows = []
    for hand in rec.cases(b, "tables", backend="nft -f"):
        shape = hand.split()[0]  # "SxR"
        ours = [t for t in rec.cases(b, "tables", backend="nftables") if t.split()[0] == shape]
        if not ours:
            continue
        c = dict(backend="nftables", tables=ours[0], step="empty -> full")
        h = dict(backend="nft -f", tables=hand, step="empty -> full")
        wall, ref = rec.median(b, "wall", **c), rec.median(b, "wall", **h)
        nft_rows.append([shape.replace("x", " × "), fmt(wall, "s"), fmt(ref, "s"), ratio(wall, ref),
                         fmt(rec.median(b, "peak_rss", **c), "MiB"), fmt(rec.median(b, "peak_rss", **h), "MiB")])
        page.compare(f"nftables programming over netlink, empty → {shape.replace('x', ' × ')}", wall, ref,
                     "`nft -f` of a hand-written ruleset", "s")
    if nft_rows:
        page.add("nftables over netlink against the hand-written `nft -f` reference, empty → full:\n")
        page.add(table(["services × reals", "directord (netlink)", "nft -f", "ratio", "peak RSS, directord",
                        "peak RSS, nft"], nft_rows) + "\n")
    for tables in rec.cases(b, "tables", backend="ipvsadm -R"):
        page.compare(f"IPVS programming, empty → {tables}",
                     rec.median(b, "wall", backend="ipvs", tables=tables, step="empty -> full"),
                     rec.median(b, "wall", backend="ipvsadm -R", tables=tables, step="empty -> full"),
                     "ipvsadm -R", "s")


def config_section(page, rec):
    if not rec.cases("config_test", "impl") and not rec.cases("config_parse", "config"):
        return
    page.add("## Reload cost: reading a 10,000 × 10 configuration\n")
    page.add(
        "Every reload parses and validates the whole file again. `config_parse` times the load "
        "inside one process; `directord -t` and `keepalived -t` are the same file through each "
        "daemon's configuration test, as whole processes.\n"
    )
    rows = [["config_parse (in process)", spread(rec.values("config_parse", "load"), "s"),
             spread(rec.values("config_parse", "peak_rss"), "MiB")]]
    for imp in rec.cases("config_test", "impl"):
        rows.append([f"{imp} -t", spread(rec.values("config_test", "wall", impl=imp), "s"),
                     spread(rec.values("config_test", "peak_rss", impl=imp), "MiB")])
    page.add(table(["what", "time", "peak RSS"], rows) + "\n")
    for metric, unit, what in (("wall", "s", "time"), ("peak_rss", "MiB", "peak RSS")):
        page.compare(f"reload cost: configuration test of 10,000 × 10, {what}",
                     rec.median("config_test", metric, impl="directord"),
                     rec.median("config_test", metric, impl="keepalived"), "keepalived -t", unit)


def maglev_section(page, rec):
    b = "maglev"
    if not rec.cases(b, "backends"):
        return
    page.add("## Maglev table: build time and disruption\n")
    page.add(
        "M = 65537 (benches/maglev.rs). When one of N backends leaves, ideally exactly its 1/N "
        "of the slots move; \"collateral\" slots belonged to another backend and moved anyway. "
        "The kernel's `mh` (IPVS) and keepalived have no userspace table to compare with.\n"
    )
    rows = []
    for n in rec.cases(b, "backends"):
        rows.append([n, spread(rec.values(b, "build", backends=n), "s"), fmt(rec.median(b, "ideal", backends=n), "share"),
                     fmt(rec.median(b, "moved", backends=n), "share"), fmt(rec.median(b, "collateral", backends=n), "share")])
    page.add(table(["backends", "build", "ideal moved", "moved", "collateral"], rows) + "\n")
    for n in rec.cases(b, "backends"):
        page.compare(f"Maglev disruption, one of {n} backends leaves (moved / ideal 1/N)",
                     rec.median(b, "moved", backends=n), rec.median(b, "ideal", backends=n), "ideal", "share")


def survival_section(page, rec):
    b = "connection_survival"
    if not rec.cases(b, "failure"):
        return
    describe = {
        "drain": "graceful drain of a director (SIGTERM)",
        "crash": "crash of a director (SIGKILL, its host drops every packet)",
        "server": "death of one real server",
        "reload": "reload adding a service",
    }
    labs = {
        "directord": "directord, nftables DR, OSPF ECMP (host)",
        "directord-ipvs": "directord, IPVS DR, OSPF ECMP (IPVS VM)",
        "lvs": "keepalived + LVS-DR, no sync (IPVS VM)",
        "lvs-sync": "keepalived + LVS-DR, lvs_sync_daemon (IPVS VM)",
    }
    # Records from before the keepalived + LVS lab carry no `lab`: they are directord's.
    for r in rec.figures + rec.series:
        if r["bench"] == b:
            r["case"].setdefault("lab", "directord")
    measured = [lab for lab in labs if rec.cases(b, "failure", lab=lab)]
    failures = [f for f in describe if rec.cases(b, "lab", failure=f)]
    page.add("## Connections that survive each failure\n")
    page.add(
        "24 long-lived connections, each sending a line every 0.1 s and checking that the answer "
        "comes from the real server that greeted it, through two directors to three real servers "
        "(benches/connection_survival.rs). directord: two directors behind a BIRD router (ECMP, "
        "hello 1 / dead 4), on nftables on the host and on IPVS in the IPVS VM. keepalived + LVS, the reference: a VRRP pair (advert_int 1, "
        "priorities 150/100) doing LVS-DR (rr, TCP_CHECK every second) behind the same kind of "
        "router, which reaches the VIP on-link, without and with `lvs_sync_daemon` (connection "
        "sync, what LVS users rely on to survive a failover); it needs IPVS, so it runs in the "
        "IPVS VM. A connection survives when it answers again from the same real server before "
        "the end of the window; only those on a dead real server should break.\n"
    )
    header = ["failure"] + [labs[lab] for lab in measured]
    rows = [[describe[f]] + [fmt(rec.median(b, "survived", lab=lab, failure=f), "share") for lab in measured]
            for f in failures]
    page.add("Share of the connections that survived:\n\n" + table(header, rows) + "\n")
    # The ratio compares like with like when it can: directord on IPVS in the same VM.
    ours = "directord-ipvs" if "directord-ipvs" in measured else "directord"
    if ours == "directord" and any(lab.startswith("lvs") for lab in measured):
        page.add("directord ran on the host (nftables) only, keepalived + LVS in the IPVS VM: the shares compare, "
                 "the stall times only roughly (the VM emulates its CPU).\n")
    # The reference is LVS as its users run it for failover, with connection sync.
    for f in failures:
        page.compare(f"connections surviving the {describe[f]}, {labs[ours]}",
                     rec.median(b, "survived", lab=ours, failure=f), rec.median(b, "survived", lab="lvs-sync", failure=f),
                     "keepalived + LVS with lvs_sync_daemon", "share", lower_is_better=False)
    causes = ["reset", "closed", "timeout", "moved", "other"]
    detail = []
    for lab in measured:
        for f in failures:
            c = dict(lab=lab, failure=f)
            if rec.median(b, "survived", **c) is None:
                continue
            total = rec.median(b, "connections", **c)
            by = [rec.median(b, f"broke_{k}", **c) for k in causes]
            # Without a survivor there is no stall to speak of.
            stall = rec.median(b, "longest_stall", **c) if rec.median(b, "survived", **c) else None
            detail.append([labs[lab], describe[f], fmt(rec.median(b, "survived", **c), "share"),
                           f"{total:.0f}" if total is not None else "–",
                           f"{rec.median(b, 'broke_on_dead_server', **c) or 0:.0f}",
                           f"{rec.median(b, 'broke_elsewhere', **c) or 0:.0f}",
                           ", ".join(f"{k} {v:.0f}" for k, v in zip(causes, by) if v) or "–",
                           fmt(stall, "s")])
    page.add(table(["directors", "failure", "survived", "connections", "broke on the dead server",
                    "broke elsewhere", "broken by", "longest stall of a survivor"], detail) + "\n")
    page.add("\"broken by\" is what the client saw: a reset, the server closing, no answer for 9 s, or an "
             "answer from another real server. The plots count the connections that had an answer in the last "
             "0.5 s and, below, the path to the VIP: the router's nexthops for directord, the VRRP master "
             "(1 = the first director, 2 = the second) for keepalived.\n")

    def painter(lab, series, ylabel, ticks):
        def paint(axes):
            carrying, path = axes
            for f in failures:
                for ax, name in ((carrying, "carrying"), (path, series)):
                    pts = rec.timeline(b, name, lab=lab, failure=f)
                    if pts and name == "carrying":
                        # Its first 0.5 s look back to before the first ping.
                        pts = [p for p in pts if p[0] >= pts[0][0] + 0.5]
                    if pts:
                        ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", label=describe[f])
            for ax in axes:
                ax.axvline(0, color="grey", linestyle=":")
                ax.set_ylim(bottom=0)
                ax.grid(alpha=0.3)
            carrying.set_ylabel("connections\ncarrying data")
            carrying.legend(fontsize=7, loc="lower right")
            path.set_ylabel(ylabel)
            path.set_yticks(ticks)
            path.set_xlabel("seconds after the failure")
        return paint

    plots = [("directord", "connections-over-time", "nexthops", "router's nexthops\nfor the VIP", [0, 1, 2]),
             ("directord-ipvs", "connections-over-time-ipvs", "nexthops", "router's nexthops\nfor the VIP", [0, 1, 2]),
             ("lvs", "connections-over-time-lvs", "vrrp_master", "VRRP master", [0, 1, 2]),
             ("lvs-sync", "connections-over-time-lvs-sync", "vrrp_master", "VRRP master", [0, 1, 2])]
    for lab, name, series, ylabel, ticks in plots:
        if lab in measured:
            page.add(f"{labs[lab]}:\n")
            page.draw(name, f"Connections carrying data and the path to the VIP over time, per failure: {labs[lab]}",
                      (7.5, 4.5), painter(lab, series, ylabel, ticks), panels=2)
            page.add("")


def bfd_section(page, rec):
    b = "bfd_kill"
    routers = rec.cases(b, "router")
    if not routers:
        return
    page.add("## Crash failover with and without BFD\n")
    page.add(
        "kill -9 of every process of one director until the router drops its nexthop; OSPF hello 1 "
        "/ dead 4, BFD 100 ms × 3 (scripts/lab/bench-ospf bfd, `bfd_kill_table` in "
        "tests/ospf_bench.rs). directord runs its own BFD speaker (docs/bfd.md); the references "
        "are BIRD and FRR as directors with their own BFD, against the same router in the same "
        "run. Ratios are directord / the other director, same router, same BFD setting.\n"
    )
    for router in routers:
        kinds = rec.cases(b, "director", router=router)
        others = [k for k in kinds if k != "directord"]
        rows = []
        for bfd in ("no", "yes"):
            med = {k: rec.median(b, "sigkill", router=router, director=k, bfd=bfd) for k in kinds}
            rows.append(["with BFD" if bfd == "yes" else "without BFD"]
                        + [spread(rec.values(b, "sigkill", router=router, director=k, bfd=bfd), "s") for k in kinds]
                        + [ratio(med.get("directord"), med[k]) for k in others])
            for k in others:
                page.compare(f"crash failover (kill -9 → route dropped) {'with' if bfd == 'yes' else 'without'} "
                             f"BFD, router {router}", med.get("directord"), med[k], f"{k} as director", "s")
        page.add(f"Router {router}:\n\n"
                 + table(["kill -9 → dropped"] + kinds + [f"directord / {k}" for k in others], rows) + "\n")


def reload_section(page, rec):
    """A reload of a running daemon: one weight changed in a file of S services."""
    ours = rec.cases("reload_cost", "services")
    vm = [n for n in rec.cases("ipvs_compare", "services") if rec.values("ipvs_compare", "one_weight", services=n)]
    if not ours and not vm:
        return
    page.add("## Reload of a running daemon: one weight changed\n")
    page.add(
        "A file of S services × 10 real servers that differs from the running one in one real "
        "server's weight, then SIGHUP: the time until the change is in the kernel, and the peak "
        "RSS of the daemon's processes over the reload (VmHWM reset just before the signal). On "
        "the host, directord on nftables alone (benches/reload_cost.rs: until its \"dataplane "
        "reconciled\" log line); in the IPVS VM, directord against keepalived on the same file "
        "(scripts/lab/ipvs-compare: until /proc/net/ip_vs shows the weight).\n"
    )
    rows = []
    for n in ours:
        c = dict(dataplane="nftables", services=n)
        rows.append([f"directord, nftables (host), {int(n):,} services",
                     spread(rec.values("reload_cost", "reconciled", **c), "s"),
                     spread(rec.values("reload_cost", "peak_rss", **c), "MiB"),
                     fmt(rec.median("reload_cost", "rss_before", **c), "MiB")])
    for n in vm:
        for tool in ("directord", "keepalived"):
            c = dict(tool=tool, services=n)
            if rec.values("ipvs_compare", "one_weight", **c):
                rows.append([f"{tool}, IPVS (VM), {int(n):,} services",
                             spread(rec.values("ipvs_compare", "one_weight", **c), "s"),
                             spread(rec.values("ipvs_compare", "reload_peak_rss", **c), "MiB"), "–"])
        for metric, unit, what in (("one_weight", "s", "SIGHUP → in the kernel"),
                                   ("reload_peak_rss", "MiB", "peak RSS during the reload")):
            page.compare(f"reload changing one weight of {int(n):,} services (IPVS VM): {what}",
                         rec.median("ipvs_compare", metric, tool="directord", services=n),
                         rec.median("ipvs_compare", metric, tool="keepalived", services=n), "keepalived", unit)
    page.add(table(["daemon", "SIGHUP → change in the kernel", "peak RSS during the reload", "RSS before"], rows)
             + "\n")


def ipvs_compare_section(page, rec):
    b = "ipvs_compare"
    sizes = rec.cases(b, "services")
    if not sizes:
        return
    page.add("## IPVS: directord vs keepalived vs `ipvsadm -R`\n")
    page.add(
        "The same S services × 10 real servers (wlc, NAT) from empty tables, in one VM run "
        "(scripts/lab/ipvs-compare): until the kernel holds every real server; a reload of a file "
        "differing in one weight (for ipvsadm one `ipvsadm -e`); peak RSS of the tool's processes; "
        "kernel requests sent (sendmsg/sendto/setsockopt on every socket, counted in a second run "
        "under strace, which quick mode leaves out; for ipvsadm -R its rules).\n"
    )
    rows = []
    for n in sorted(sizes, key=int):
        for tool in rec.cases(b, "tool", services=n):
            c = dict(tool=tool, services=n)
            sends = (rec.median(b, "sends_full", **c), rec.median(b, "sends_weight", **c))
            rows.append([f"{int(n):,}", tool, spread(rec.values(b, "full", **c), "s"),
                         spread(rec.values(b, "one_weight", **c), "s"), fmt(rec.median(b, "peak_rss", **c), "MiB"),
                         " / ".join("–" if v is None else f"{v:,.0f}" for v in sends)])
        for ref in ("keepalived", "ipvsadm -R"):
            page.compare(f"IPVS, empty → {int(n):,} × 10 (VM)", rec.median(b, "full", tool="directord", services=n),
                         rec.median(b, "full", tool=ref, services=n), ref, "s")
    page.add(table(["services", "tool", "empty → full", "one weight", "peak RSS", "sends full / weight"], rows)
             + "\n")


def reload_rss_section(page, rec):
    b = "reload_rss"
    cases = rec.cases(b, "services")
    if not cases:
        return
    page.add("## Memory across reloads\n")
    page.add(
        "directord on a 10,000 × 10 keepalived.conf (a checker on every real server), reloaded "
        "again and again with SIGHUP (benches/reload_rss.rs): VmRSS after start and after "
        "reloads. The bench fails when the last reload ends more than 10 % above the first: RSS "
        "must not creep. There is no reference daemon here; the ratio is the last reload against "
        "the first.\n"
    )
    rows = []
    for n in cases:
        for reloads in rec.cases(b, "reloads", services=n):
            c = dict(services=n, reloads=reloads)
            first, last = rec.median(b, "first_reload", **c), rec.median(b, "last_reload", **c)
            rows.append([f"{int(n):,} × 10", reloads, fmt(rec.median(b, "start", **c), "MiB"), fmt(first, "MiB"),
                         fmt(last, "MiB"), fmt(rec.median(b, "highest", **c), "MiB")])
            page.compare(f"RSS after {reloads} reloads of {int(n):,} × 10", last, first,
                         "after the first reload", "MiB")
    page.add(table(["configuration", "reloads", "after start", "after the first reload", "after the last",
                    "highest after a reload"], rows) + "\n")


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: bench-report.py REPORT_DIR OUTPUT.md PLOT_DIR")
    report_dir, output, plot_dir = sys.argv[1:]
    rec = Records(report_dir)
    page = Page(rec, plot_dir, os.path.dirname(os.path.abspath(output)))
    for section in (ospf_section, bfd_section, vrrp_section, health_failover_section, survival_section,
                    reload_section, config_section, reload_rss_section, capacity_section, dataplane_section,
                    ipvs_compare_section, maglev_section, ospf_many_section, idle_section):
        parts, glance = len(page.parts), len(page.glance)
        try:
            section(page, rec)
        except (KeyError, IndexError, TypeError, ValueError) as e:
            del page.parts[parts:], page.glance[glance:]
            # A step cut short leaves records a section does not expect: the rest of the
            # page is still written, and the notes say which section is missing and why.
            page.broken.append(f"{section.__name__.replace('_section', '')} ({type(e).__name__}: {e})")
            print(f"bench-report: {section.__name__}: {e!r}", file=sys.stderr)

    m = rec.machine
    loads = rec.values("step", "loadavg")
    step_secs = rec.values("step", "seconds")
    expected = ["machine", "maglev", "config", "reconcile", "reconcile-ipvs", "ipvs-compare", "reload", "reload-rss",
                "vrrp", "ospf", "ospf-many", "bfd", "idle", "health-failover", "health-capacity", "survival",
                "survival-lvs"]
    missing = [s for s in expected if s not in rec.steps]
    head = [
        "# Benchmarks",
        "",
        "<!-- Generated by scripts/bench (scripts/lab/bench-report.py); edit those, not this file. -->",
        "",
        "director's figures beside the tools it replaces — keepalived + LVS (VRRP), and BIRD and FRR "
        "announcing the same VIPs over OSPF — measured **in the same run on the same machine**. "
        "Absolute times depend on the machine; the ratios (ours / theirs, same run) are what to "
        "compare. Each figure is the median of its runs; a range is (min–max, number of runs).",
        "",
        "## Machine and run",
        "",
        table(["", ""], [
            ["date (UTC)", m.get("date", "–")],
            ["mode", f"`scripts/bench{' --quick' if m.get('mode') == 'quick' else ''}`, "
                     f"{sum(step_secs) / 60:.0f} min of measurements"],
            ["commit", m.get("commit", "–")],
            ["CPU", f"{m.get('nproc', '–')} × {m.get('cpu', '–')}"],
            ["memory", m.get("memory", "–")],
            ["OS, kernel", f"{m.get('os', '–')}, Linux {m.get('kernel', '–')}"],
            ["load average during the steps", f"{min(loads):.2f}–{max(loads):.2f}" if loads else "–"],
            ["rustc", m.get("rustc", "–")],
            ["BIRD", m.get("bird", "–")],
            ["FRR", m.get("frr", "–")],
            ["keepalived", m.get("keepalived", "–")],
            ["nftables", m.get("nft", "–")],
            ["IPVS VM", f"{m.get('ipvs_vm', '–')} ({m.get('qemu', '–')}), scripts/lab/ipvs-vm"],
        ]),
        "",
        "## Notes",
        "",
    ]
    nproc = m.get("nproc")
    if loads and nproc and max(loads) > 0.5 * nproc:
        head.append(
            f"- The machine was shared while this ran: the load average reached {max(loads):.1f} on "
            f"{nproc} cores. Absolute times are inflated and noisy; ratios measured in the same run "
            "(both sides under the same load, one after the other) are the figures to trust."
        )
    head.append("- Idle CPU is read from clock ticks (10 ms): below one tick over the window it shows as "
                "0.00 %, and such a pair has no ratio.")
    if m.get("mode") == "quick":
        head.append("- Quick mode: one run per figure and smaller sizes; the full run (`scripts/bench`) "
                    "repeats each figure and adds FRR as the router (OSPF and BFD), the default OSPF timers, "
                    "and in the IPVS VM the drain, real-server and reload failures besides the crash.")
    head.append("- IPVS figures come from a QEMU (TCG) or UML virtual machine, because the host kernel "
                "has no IPVS: compare them with each other, not with the host's figures.")
    if plt is None:
        head.append("- Plots left out: python3-matplotlib is not installed (scripts/bench installs it).")
    if m.get("note"):
        head.append(f"- {m['note']}")
    if missing:
        head.append(f"- Not measured in this run: {', '.join(missing)} (their rows are left out).")
    if page.broken:
        head.append(f"- Left out because their records are incomplete: {'; '.join(page.broken)}.")
    head += [
        "",
        "## At a glance",
        "",
        "Ratio = director / reference, measured in the same run.",
        "",
        table(["what", "director", "reference", "reference's figure", "ratio", ""], page.glance),
        "",
    ]
    tail = [
        "## How to reproduce",
        "",
        "As root on Debian 12 with bird2, frr, keepalived, nftables, tcpdump and ipvsadm installed "
        "(`.ci/run` installs them); the IPVS VM installs QEMU on first use:",
        "",
        "```sh",
        "scripts/bench --quick          # about 20 min on 2 cores after the build",
        "scripts/bench                  # the full run, about 60 min",
        "scripts/bench --list           # the steps; each one is re-runnable:",
        "scripts/bench ospf report      # re-measure one step, then rewrite this page",
        "```",
        "",
        "Each step writes `target/bench-report/STEP.log` (the benches' own tables) and `STEP.jsonl` "
        "(their figures, one JSON record a line); `report` turns every `.jsonl` there into this "
        "page and the plots in `docs/benchmarks/`.",
        "",
    ]
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(head + page.parts + tail))


if __name__ == "__main__":
    main()
