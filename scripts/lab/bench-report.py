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
        self.parts, self.glance = [], []
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
        "removal (benches/reconcile.rs): nftables on the host (one `nft -f` transaction), IPVS in "
        "the VM (generic netlink), where `ipvsadm -R` of the same tables is the baseline "
        "(one netlink message per object, the way keepalived programs IPVS).\n"
    )
    rows = []
    for backend in backends:
        for tables in rec.cases(b, "tables", backend=backend):
            for step in rec.cases(b, "step", backend=backend, tables=tables):
                rows.append([backend, tables, step, spread(rec.values(b, "wall", backend=backend, tables=tables, step=step), "s")])
    page.add(table(["backend", "tables", "step", "wall"], rows) + "\n")
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
    failures = rec.cases(b, "failure")
    if not failures:
        return
    describe = {
        "drain": "graceful drain of a director (SIGTERM)",
        "crash": "crash of a director (SIGKILL, its host drops every packet)",
        "server": "death of one real server",
        "reload": "reload adding a service",
    }
    page.add("## Connections that survive each failure\n")
    page.add(
        "Two directors (nftables, DR) behind a BIRD router (ECMP, hello 1 / dead 4), three real "
        "servers, 24 long-lived connections each sending a line every 0.1 s "
        "(benches/connection_survival.rs). A connection survives when it answers again from the "
        "same real server; only those on a dead real server should break. The plot counts the "
        "connections that had an answer in the last 0.5 s, and below it the router's route to the VIP: "
        "the convergence timeline of each failure. keepalived + LVS is not measured here: "
        "an LVS pair with connection sync needs a lab of its own in the IPVS VM.\n"
    )
    rows = []
    for f in failures:
        share = rec.median(b, "survived", failure=f)
        total = rec.median(b, "connections", failure=f)
        rows.append([describe.get(f, f), fmt(share, "share"), f"{total:.0f}" if total is not None else "–",
                     f"{rec.median(b, 'broke_on_dead_server', failure=f) or 0:.0f}",
                     f"{rec.median(b, 'broke_elsewhere', failure=f) or 0:.0f}",
                     fmt(rec.median(b, "longest_stall", failure=f), "s")])
    page.add(table(["failure", "survived", "connections", "broke on the dead server", "broke elsewhere",
                    "longest stall of a survivor"], rows) + "\n")

    def paint(axes):
        carrying, hops = axes
        for f in failures:
            for ax, series in ((carrying, "carrying"), (hops, "nexthops")):
                pts = rec.timeline(b, series, failure=f)
                if pts and series == "carrying":
                    # Its first 0.5 s look back to before the first ping.
                    pts = [p for p in pts if p[0] >= pts[0][0] + 0.5]
                if pts:
                    ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", label=describe.get(f, f))
        for ax in axes:
            ax.axvline(0, color="grey", linestyle=":")
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
        carrying.set_ylabel("connections\ncarrying data")
        carrying.legend(fontsize=7, loc="lower right")
        hops.set_ylabel("router's nexthops\nfor the VIP")
        hops.set_yticks([0, 1, 2])
        hops.set_xlabel("seconds after the failure")

    page.draw("connections-over-time", "Connections carrying data and the router's nexthops over time, per failure",
              (7.5, 4.5), paint, panels=2)
    page.add("")


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: bench-report.py REPORT_DIR OUTPUT.md PLOT_DIR")
    report_dir, output, plot_dir = sys.argv[1:]
    rec = Records(report_dir)
    page = Page(rec, plot_dir, os.path.dirname(os.path.abspath(output)))
    for section in (ospf_section, vrrp_section, health_failover_section, survival_section, config_section,
                    capacity_section, dataplane_section, maglev_section, ospf_many_section, idle_section):
        section(page, rec)

    m = rec.machine
    loads = rec.values("step", "loadavg")
    step_secs = rec.values("step", "seconds")
    expected = ["machine", "maglev", "config", "reconcile", "reconcile-ipvs", "vrrp", "ospf", "ospf-many", "idle",
                "health-failover", "health-capacity", "survival"]
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
    nproc = m.get("nproc") or 1
    if loads and max(loads) > 0.5 * nproc:
        head.append(
            f"- The machine was shared while this ran: the load average reached {max(loads):.1f} on "
            f"{nproc} cores. Absolute times are inflated and noisy; ratios measured in the same run "
            "(both sides under the same load, one after the other) are the figures to trust."
        )
    head.append("- Idle CPU is read from clock ticks (10 ms): below one tick over the window it shows as "
                "0.00 %, and such a pair has no ratio.")
    if m.get("mode") == "quick":
        head.append("- Quick mode: one run per figure and smaller sizes; the full run (`scripts/bench`) "
                    "repeats each figure and adds FRR as the router and the default OSPF timers.")
    head.append("- IPVS figures come from a QEMU (TCG) or UML virtual machine, because the host kernel "
                "has no IPVS: compare them with each other, not with the host's figures.")
    if plt is None:
        head.append("- Plots left out: python3-matplotlib is not installed (scripts/bench installs it).")
    if m.get("note"):
        head.append(f"- {m['note']}")
    if missing:
        head.append(f"- Not measured in this run: {', '.join(missing)} (their rows are left out).")
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
        "scripts/bench --quick          # about 15 min on 2 cores after the build",
        "scripts/bench                  # the full run",
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
