"""Summaries (median, min-max over undisturbed samples), ratios, targets and the table."""

from __future__ import annotations

import statistics
from typing import Any

# forward FLOPs of one MNIST example through 784-256-128-10
MLP_FWD_FLOPS = 2 * (784 * 256 + 256 * 128 + 128 * 10)
# the products a training step needs (no input gradient for the first layer)
MLP_STEP_FLOPS = 3 * MLP_FWD_FLOPS - 2 * 784 * 256


def _stats(samples: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Median and range of the undisturbed samples' wall times (all, flagged, if none)."""
    if not samples:
        return None
    clean = [s for s in samples if not s["disturbed"]]
    used = clean or samples
    walls = [s["wall"] for s in used]
    return {"median": statistics.median(walls), "min": min(walls), "max": max(walls),
            "n": len(used), "n_all": len(samples), "n_disturbed": len(samples) - len(clean),
            "flagged": not clean,
            "other_cores_median": statistics.median(
                [s["other_cores"] or 0.0 for s in samples])}


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Group the worker results by (kind, impl) and the GEMM runs; compute the statistics."""
    out: dict[str, Any] = {}
    for res in results:
        spec = res["spec"]
        if spec["task"] == "gemm":
            g = out.setdefault("gemm", {"square": [], "mlp_step": [], "blas": res["blas"]})
            g["square"] += res["square"]["runs"]
            g["mlp_step"] += res["mlp_step"]["runs"]
            continue
        key = f"{spec['kind']}/{spec['impl']}"
        d = out.setdefault(key, {"runs": 0, "epoch_samples": [], "infer_samples": [],
                                 "accuracy": [], "peak_rss_mib": [], "train_rss_mib": [],
                                 "epochs_per_run": spec["epochs"], "n_train": res["n_train"],
                                 "source": res["source"], "blas": res["blas"]})
        d["runs"] += 1
        ep = res["epochs"]
        # each epoch's wall time by round (None: disturbed); round 0 warms up when there
        # are more (lockstep runs put round r of every implementation side by side)
        d.setdefault("rounds", {})[spec.get("seed", 0)] = [
            None if e["disturbed"] else e["wall"] for e in ep]
        d["epoch_samples"] += ep[1:] if len(ep) > 1 else ep  # the first epoch warms up
        d.setdefault("floor_shares", []).extend(
            3 * MLP_FWD_FLOPS * res["n_train"] / (e["gemm_gflops"] * 1e9) / e["wall"]
            for e in (ep[1:] if len(ep) > 1 else ep)
            if e.get("gemm_gflops") and not e["disturbed"])
        d["infer_samples"] += res["infer"]
        d["accuracy"].append(res["accuracy"])
        d["peak_rss_mib"].append(res["peak_rss_mib"])
        d["train_rss_mib"].append(res["peak_rss_mib"] - res["rss_before_mib"])
    for key, d in out.items():
        if key == "gemm":
            for part in ("square", "mlp_step"):
                runs = d[part]
                clean = [r for r in runs if not r["disturbed"]] or runs
                d[part + "_gflops"] = max(r["gflops"] for r in clean)
                d[part + "_flagged"] = not any(not r["disturbed"] for r in runs)
            continue
        d["epoch"] = _stats(d["epoch_samples"])
        d["infer"] = _stats(d["infer_samples"])
        d["accuracy_median"] = statistics.median(d["accuracy"])
        d["peak_rss_median"] = statistics.median(d["peak_rss_mib"])
        d["train_rss_median"] = statistics.median(d["train_rss_mib"])
    return out


def _get(s: dict[str, Any], key: str, field: str) -> Any:
    d = s.get(key)
    return None if d is None or d.get(field) is None else d[field]


def targets(s: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue: its measured value, the bound, and whether it holds."""
    rows: list[dict[str, Any]] = []
    n_full = all(d.get("n_train") == 60000 for k, d in s.items() if k != "gemm")

    flagged: list[bool] = []

    def add(name: str, value: float | None, bound: str, ok: bool | None,
            paired: str = "", best: float | None = None) -> None:
        rows.append({"target": name, "value": value, "bound": bound, "holds": ok,
                     "disturbed": any(flagged), "paired": paired, "best": best})
        flagged.clear()

    def fastest(a: str, b: str, part: str = "epoch") -> float | None:
        """Ratio of A's fastest undisturbed sample to B's (noise only ever adds time)."""
        sa, sb = _get(s, a, part), _get(s, b, part)
        return None if sa is None or sb is None else sa["min"] / sb["min"]

    def paired(a: str, b: str, invert: bool = False) -> str:
        """Median [min-max] of the ratios of A's and B's epochs of the same round (run
        next to each other), over the rounds after the warm-up and the repetitions."""
        ra, rb = s.get(a, {}).get("rounds", {}), s.get(b, {}).get("rounds", {})
        rs = []
        for seed in ra.keys() & rb.keys():
            ea, eb = ra[seed], rb[seed]
            first = 1 if min(len(ea), len(eb)) > 1 else 0
            for x, y in zip(ea[first:], eb[first:], strict=False):  # the shorter run
                if x and y:
                    rs.append(y / x if invert else x / y)
        if not rs:
            return ""
        return f"{statistics.median(rs):.3f} [{min(rs):.3f}-{max(rs):.3f}] n={len(rs)}"

    def med(key: str, part: str) -> float | None:
        st = _get(s, key, part)
        if st is not None:
            flagged.append(st["flagged"])
        return None if st is None else st["median"]

    dg, sk = med("mlp/deepgrad", "epoch"), med("mlp/sklearn", "epoch")
    flagged.clear()
    dg, pt = med("mlp/deepgrad", "epoch"), med("mlp/torch", "epoch")
    if dg and pt:
        add("MLP epoch / torch", dg / pt, "<= 0.65", dg / pt <= 0.65,
            paired("mlp/deepgrad", "mlp/torch"), fastest("mlp/deepgrad", "mlp/torch"))
    flagged.clear()
    dg, sk = med("mlp/deepgrad", "epoch"), med("mlp/sklearn", "epoch")
    if dg and sk:
        best = fastest("mlp/sklearn", "mlp/deepgrad")
        add("sklearn / MLP epoch (speed-up)", sk / dg, ">= 2.5", sk / dg >= 2.5,
            paired("mlp/deepgrad", "mlp/sklearn", invert=True), best)
    flagged.clear()
    g = s.get("gemm")
    dg = med("mlp/deepgrad", "epoch")
    shares = s.get("mlp/deepgrad", {}).get("floor_shares") or []
    if dg and (g or shares):
        # value: the floor from the GEMM worker's ceiling over the median epoch; paired: each
        # epoch against the ceiling measured right after it in the same process. The
        # machine's speed drifts by up to 2x between processes, so the paired shares are
        # the like-for-like measure and decide the target when they exist.
        n = s["mlp/deepgrad"]["n_train"]
        value = 3 * MLP_FWD_FLOPS * n / (g["square_gflops"] * 1e9) / dg if g else None
        if g:
            flagged.append(g["square_flagged"])
        pair = ""
        decide = value
        if shares:
            decide = statistics.median(shares)
            pair = (f"{decide:.3f} [{min(shares):.3f}-{max(shares):.3f}] "
                    f"n={len(shares)} epochs")
        add("GEMM floor / MLP epoch", value, ">= 0.60", decide >= 0.60, pair)
    c_dg, c_pt = med("cnn/deepgrad", "epoch"), med("cnn/torch", "epoch")
    if c_dg and c_pt:
        add("CNN epoch / torch", c_dg / c_pt, "<= 1.5", c_dg / c_pt <= 1.5,
            paired("cnn/deepgrad", "cnn/torch"), fastest("cnn/deepgrad", "cnn/torch"))
    for kind, bound in (("mlp", 1.0), ("cnn", 1.5)):
        a, b = med(f"{kind}/deepgrad", "infer"), med(f"{kind}/torch", "infer")
        if a and b:
            add(f"{kind.upper()} inference / torch", a / b, f"<= {bound}", a / b <= bound,
                best=fastest(f"{kind}/deepgrad", f"{kind}/torch", "infer"))
    for kind in ("mlp", "cnn"):
        a, b = _get(s, f"{kind}/deepgrad", "peak_rss_median"), _get(s, f"{kind}/torch",
                                                                  "peak_rss_median")
        if a and b:
            add(f"{kind.upper()} peak RSS / torch", a / b, "<= 1.5", a / b <= 1.5)
    for kind, floor_acc, need in (("mlp", 0.975, 5), ("cnn", 0.980, 3)):
        a = _get(s, f"{kind}/deepgrad", "accuracy_median")
        b = _get(s, f"{kind}/torch", "accuracy_median")
        if a is not None and b is not None:
            add(f"{kind.upper()} accuracy - torch (points)", 100 * (a - b), ">= -0.5",
                100 * (a - b) >= -0.5 if n_full else None)
        if a is not None:
            ep = s[f"{kind}/deepgrad"]["epochs_per_run"]
            add(f"{kind.upper()} accuracy after {ep} epochs (%)", 100 * a,
                f">= {100 * floor_acc:.1f} after {need}",
                a >= floor_acc if ep == need and n_full else None)
    return rows


def _fmt_stats(st: dict[str, Any] | None) -> str:
    if st is None:
        return "-"
    flag = " (!)" if st["flagged"] else ""
    dist = f", {st['n_disturbed']}/{st['n_all']} disturbed" if st["n_disturbed"] else ""
    return f"{st['median']:.3f} [{st['min']:.3f}-{st['max']:.3f}] n={st['n']}{dist}{flag}"


def table(s: dict[str, Any], header: list[str]) -> str:
    """The markdown report: header lines, the measurements, the GEMM ceiling, the targets."""
    lines = [*header, "",
             "| workload | impl | epoch s: median [min-max] | "
             "inference s per pass over the test set | accuracy % | peak RSS MiB (training +) |",
             "|---|---|---|---|---|---|"]
    for key in sorted(k for k in s if k != "gemm"):
        d = s[key]
        kind, impl = key.split("/")
        lines.append(
            f"| {kind} ({d['epochs_per_run']} ep x {d['runs']}) | {impl} | "
            f"{_fmt_stats(d['epoch'])} | {_fmt_stats(d['infer'])} | "
            f"{100 * d['accuracy_median']:.2f} | {d['peak_rss_median']:.0f} "
            f"(+{d['train_rss_median']:.0f}) |")
    g = s.get("gemm")
    if g:
        lines += ["", f"GEMM ceiling (float32, NumPy, 2048^3): {g['square_gflops']:.0f} GFLOP/s"
                  f"{' (!)' if g['square_flagged'] else ''}; the MLP step's own products "
                  f"(batch 128) alone: {g['mlp_step_gflops']:.0f} GFLOP/s."]
        dg = s.get("mlp/deepgrad", {}).get("epoch")
        if dg:
            n = s["mlp/deepgrad"]["n_train"]
            f85 = 3 * MLP_FWD_FLOPS * n
            f_needed = MLP_STEP_FLOPS * n
            lines.append(
                f"MLP epoch: {f85 / 1e9:.1f} GFLOP (3x forward) -> floor "
                f"{f85 / g['square_gflops'] / 1e9:.3f} s; the {f_needed / 1e9:.1f} GFLOP "
                f"actually needed (no input gradient for layer 1) at the MLP-step GEMM rate "
                f"-> {f_needed / g['mlp_step_gflops'] / 1e9:.3f} s; deepgrad's epoch "
                f"{dg['median']:.3f} s runs at {f_needed / dg['median'] / 1e9:.0f} GFLOP/s.")
    lines += ["", "| target | value (ratio of medians) | paired: ratios of epochs run side by "
              "side, median [min-max] | fastest vs fastest | bound | holds |",
              "|---|---|---|---|---|---|"]
    for r in targets(s):
        val = "-" if r["value"] is None else f"{r['value']:.3f}"
        best = "-" if r["best"] is None else f"{r['best']:.3f}"
        ok = {True: "yes", False: "**no**", None: "-"}[r["holds"]]
        if r["disturbed"] and r["holds"] is not None:
            ok += " (disturbed: not conclusive)"
        lines.append(f"| {r['target']} | {val} | {r['paired'] or '-'} | {best} | {r['bound']} "
                     f"| {ok} |")
    lines += ["", "(!) = every sample of that cell was disturbed by other processes "
              "(more than 0.1 core busy elsewhere); medians use undisturbed samples only."]
    return "\n".join(lines)
