#!/usr/bin/env python3
"""Draws vlo-lab's plots from its JSON: python3 plot.py LAB.json OUTDIR

  latency_cdf_<workload>.png  latency CDF per design, the kernel's beside them
  throughput.png              ops/s per design beside the kernel, one panel per workload
  overload_drops.png          drops against offered load, one line per netdev_max_backlog
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def label(r):
    if r["stack"] == "kernel":
        return "kernel lo"
    return f'{r["queue"]}/{r["worker"]} cpus={r["cpus"]}'


def latency_cdfs(recs, out):
    by_workload = {}
    for r in recs:
        if r.get("latency_cdf") and r.get("ok", True):
            by_workload.setdefault(r["workload"], []).append(r)
    written = []
    for w, rows in by_workload.items():
        fig, ax = plt.subplots(figsize=(9, 5.5))
        for r in rows:
            xs = [p[0] for p in r["latency_cdf"]]
            ys = [p[1] for p in r["latency_cdf"]]
            kernel = r["stack"] == "kernel"
            ax.step(xs, ys, where="post", label=label(r), linewidth=2.5 if kernel else 1.2,
                    color="black" if kernel else None)
        ax.set_xscale("log")
        ax.set_xlabel("latency per operation (us, log scale)")
        ax.set_ylabel("fraction of operations")
        ax.set_ylim(0, 1.01)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_title(f"{w}: latency CDF per design")
        ax.legend(fontsize=7, ncol=2, loc="lower right")
        path = os.path.join(out, f"latency_cdf_{w}.png")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def throughput(recs, out):
    workloads = []
    for r in recs:
        if r["workload"] not in workloads and r["workload"] != "listeners":
            workloads.append(r["workload"])
    if not workloads:
        return []
    cols = 2
    rows = (len(workloads) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(13, 3.2 * rows), squeeze=False)
    for ax, w in zip(axes.flat, workloads):
        rs = [r for r in recs if r["workload"] == w]
        rs.sort(key=lambda r: (r["stack"] != "kernel", label(r)))
        names = [label(r) for r in rs]
        values = [r["ops_per_s"] for r in rs]
        colors = ["black" if r["stack"] == "kernel" else "tab:blue" for r in rs]
        ax.barh(range(len(rs)), values, color=colors)
        ax.set_yticks(range(len(rs)))
        ax.set_yticklabels(names, fontsize=6)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_title(f"{w}: ops/s (kernel in black)", fontsize=9)
        ax.grid(True, axis="x", which="both", alpha=0.3)
    for ax in list(axes.flat)[len(workloads):]:
        ax.axis("off")
    fig.tight_layout()
    path = os.path.join(out, "throughput.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def overload_drops(recs, out):
    swept = [r for r in recs if r["workload"] == "overload" and r.get("overload", {}).get("sweep")]
    fig, axes = plt.subplots(1, max(1, len(swept)), figsize=(5 * max(1, len(swept)), 4.5), squeeze=False)
    for ax, r in zip(axes.flat, swept):
        by_backlog = {}
        for p in r["overload"]["sweep"]:
            by_backlog.setdefault(p["netdev_max_backlog"], []).append(p)
        for backlog, pts in sorted(by_backlog.items()):
            pts.sort(key=lambda p: p["offered_factor"])
            xs = [p["offered_factor"] for p in pts]
            ys = [100.0 * p["dropped"] / p["sent"] if p["sent"] else 0 for p in pts]
            ax.plot(xs, ys, marker="o", label=f"netdev_max_backlog={backlog}")
        ax.set_xscale("log")
        ax.set_xlabel("offered per burst / (netdev_max_backlog + 1)")
        ax.set_ylabel("dropped (% of sent)")
        ax.set_title(label(r), fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    if not swept:
        axes[0][0].text(0.5, 0.5, "no overload sweep in this run", ha="center")
    fig.suptitle("overload: drops against offered load and netdev_max_backlog")
    fig.tight_layout()
    path = os.path.join(out, "overload_drops.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def main():
    if len(sys.argv) != 3:
        print("usage: plot.py LAB.json OUTDIR", file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        data = json.load(f)
    recs = data["results"] if isinstance(data, dict) else data
    os.makedirs(sys.argv[2], exist_ok=True)
    written = latency_cdfs(recs, sys.argv[2]) + throughput(recs, sys.argv[2]) + overload_drops(recs, sys.argv[2])
    print(f"vlo-lab: {len(written)} plots in {sys.argv[2]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
