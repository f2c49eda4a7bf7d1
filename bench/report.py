"""Summaries (median, min-max over undisturbed samples), ratios, targets and the tables:
epoch times, each step's products-only floor, the peers' losses, the issue's targets."""

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
        timed = ep[1:] if len(ep) > 1 else ep
        d.setdefault("products_samples", []).extend(e["products"] for e in timed
                                                    if "products" in e)
        d.setdefault("own_floor_shares", []).extend(
            e["products"]["wall"] / e["wall"] for e in timed
            if "products" in e and not e["disturbed"] and not e["products"]["disturbed"])
        d.setdefault("losses", {})[spec.get("seed", 0)] = [e.get("loss") for e in ep]
        if res.get("initial_loss") is not None:
            d.setdefault("initial_loss", []).append(res["initial_loss"])
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
        d["products"] = _stats(d.get("products_samples", []))
        d["accuracy_median"] = statistics.median(d["accuracy"])
        d["peak_rss_median"] = statistics.median(d["peak_rss_mib"])
        d["train_rss_median"] = statistics.median(d["train_rss_mib"])
    return out


def _get(s: dict[str, Any], key: str, field: str) -> Any:
    d = s.get(key)
    return None if d is None or d.get(field) is None else d[field]


def _paired(s: dict[str, Any], a: str, b: str, invert: bool = False) -> str:
    """Median [min-max] of the ratios of A's and B's epochs of the same round (run next
    to each other), over the rounds after the warm-up and the repetitions."""
    ra, rb = s.get(a, {}).get("rounds", {}), s.get(b, {}).get("rounds", {})
    rs = []
    for seed in ra.keys() & rb.keys():
        ea, eb = ra[seed], rb[seed]
        first = 1 if min(len(ea), len(eb)) > 1 else 0
        for x, y in zip(ea[first:], eb[first:], strict=False):  # the shorter run
            if x and y:
                rs.append(y / x if invert else x / y)
    return _range(rs)


def _range(xs: list[float], unit: str = "") -> str:
    if not xs:
        return ""
    return (f"{statistics.median(xs):.3f} [{min(xs):.3f}-{max(xs):.3f}] "
            f"n={len(xs)}{unit}")


def _fastest(s: dict[str, Any], a: str, b: str, part: str = "epoch") -> float | None:
    """Ratio of A's fastest undisturbed sample to B's (noise only ever adds time)."""
    sa, sb = _get(s, a, part), _get(s, b, part)
    return None if sa is None or sb is None else sa["min"] / sb["min"]


#: epoch-time ratios deepgrad / peer: (workload, peer, bound or None for information)
EPOCH_TARGETS = (("mlp", "jax", 1.0), ("mlp", "torch", 0.5), ("cnn", "torch", 1.0),
                 ("cnn", "jax", None), ("convnet", "torch", 1.0), ("convnet", "jax", None),
                 ("resnet", "torch", 1.2), ("lstm", "torch", None))
TRAIN_KINDS = ("mlp", "cnn", "convnet", "resnet", "lstm")
LABEL = {"mlp": "MLP", "cnn": "CNN", "convnet": "Keras convnet", "resnet": "ResNet",
         "lstm": "LSTM LM"}


def targets(s: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue (19; the sklearn, square-GEMM and accuracy rows from
    earlier ones): its measured value, the bound, and whether it holds. Rows without a
    bound are for information (``holds`` None)."""
    rows: list[dict[str, Any]] = []
    flagged: list[bool] = []

    def add(name: str, value: float | None, bound: str, ok: bool | None,
            paired: str = "", best: float | None = None) -> None:
        rows.append({"target": name, "value": value, "bound": bound, "holds": ok,
                     "disturbed": any(flagged), "paired": paired, "best": best})
        flagged.clear()

    def med(key: str, part: str) -> float | None:
        st = _get(s, key, part)
        if st is not None:
            flagged.append(st["flagged"])
        return None if st is None else st["median"]

    for kind, peer, bound in EPOCH_TARGETS:
        a, b = med(f"{kind}/deepgrad", "epoch"), med(f"{kind}/{peer}", "epoch")
        if a and b:
            add(f"{LABEL[kind]} epoch / {peer}", a / b, "-" if bound is None else
                f"<= {bound}", None if bound is None else a / b <= bound,
                _paired(s, f"{kind}/deepgrad", f"{kind}/{peer}"),
                _fastest(s, f"{kind}/deepgrad", f"{kind}/{peer}"))
        flagged.clear()
    for peer, bound in (("jax", 1.0), ("torch", 0.5), ("deepgrad", None)):
        a, b = med("mlp/deepgrad-jit", "epoch"), med(f"mlp/{peer}", "epoch")
        if a and b:  # the compiled step (deepgrad.compile_step), same lockstep group
            add(f"MLP epoch, compiled step / {peer}", a / b, "-" if bound is None else
                f"<= {bound}", None if bound is None else a / b <= bound,
                _paired(s, "mlp/deepgrad-jit", f"mlp/{peer}"),
                _fastest(s, "mlp/deepgrad-jit", f"mlp/{peer}"))
        flagged.clear()
    _speed_rows(s, add, med, flagged)
    for kind in ("mlp", "cnn"):
        a, b = med(f"{kind}/deepgrad", "infer"), med(f"{kind}/torch", "infer")
        if a and b:
            add(f"{kind.upper()} inference / torch", a / b, "<= 0.8", a / b <= 0.8,
                best=_fastest(s, f"{kind}/deepgrad", f"{kind}/torch", "infer"))
        flagged.clear()
    for kind in TRAIN_KINDS:
        a, b = (_get(s, f"{kind}/{impl}", "peak_rss_median") for impl in ("deepgrad", "torch"))
        if a and b:
            add(f"{LABEL[kind]} peak RSS / torch", a / b, "<= 1.0", a / b <= 1.0)
    _accuracy_rows(s, add)
    return rows


def _speed_rows(s: dict[str, Any], add: Any, med: Any, flagged: list[bool]) -> None:
    """fit against the loop, scikit-learn, and the MLP's distance from its floors."""
    dg, fit = med("mlp/deepgrad", "epoch"), med("mlp/deepgrad-fit", "epoch")
    if dg and fit:
        add("MLP fit / explicit loop", fit / dg, "<= 1.05", fit / dg <= 1.05,
            _paired(s, "mlp/deepgrad-fit", "mlp/deepgrad"),
            _fastest(s, "mlp/deepgrad-fit", "mlp/deepgrad"))
    flagged.clear()
    dg, sk = med("mlp/deepgrad", "epoch"), med("mlp/sklearn", "epoch")
    if dg and sk:
        add("sklearn / MLP epoch (speed-up)", sk / dg, ">= 2.5", sk / dg >= 2.5,
            _paired(s, "mlp/deepgrad", "mlp/sklearn", invert=True),
            _fastest(s, "mlp/sklearn", "mlp/deepgrad"))
    flagged.clear()
    for impl, label in (("deepgrad", ""), ("deepgrad-jit", ", compiled step")):
        d = s.get(f"mlp/{impl}", {})
        dg, prod = med(f"mlp/{impl}", "epoch"), med(f"mlp/{impl}", "products")
        own = d.get("own_floor_shares") or []
        if dg and prod:
            # the step's own products (same shapes, same process, right after each epoch);
            # decided on the paired shares (each epoch against the products timed after it)
            decide = statistics.median(own) if own else prod / dg
            add(f"MLP products alone / epoch{label}", prod / dg, ">= 0.75", decide >= 0.75,
                _range(own, " epochs"))
        flagged.clear()
    d = s.get("mlp/deepgrad", {})
    g = s.get("gemm")
    dg = med("mlp/deepgrad", "epoch")
    shares = d.get("floor_shares") or []
    if dg and (g or shares):
        # value: the floor from the GEMM worker's ceiling over the median epoch; paired: each
        # epoch against the ceiling measured right after it in the same process. The
        # machine's speed drifts by up to 2x between processes, so the paired shares are
        # the like-for-like measure and decide the target when they exist.
        n = d["n_train"]
        value = 3 * MLP_FWD_FLOPS * n / (g["square_gflops"] * 1e9) / dg if g else None
        if g:
            flagged.append(g["square_flagged"])
        decide = statistics.median(shares) if shares else value
        add("GEMM floor / MLP epoch", value, ">= 0.60", decide >= 0.60,
            _range(shares, " epochs"))
    flagged.clear()


def _accuracy_rows(s: dict[str, Any], add: Any) -> None:
    n_full = all(d.get("n_train") == 60000 for k, d in s.items()
                 if k.split("/")[0] in ("mlp", "cnn"))
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


def loss_agreement(s: dict[str, Any]) -> list[dict[str, Any]]:
    """Per workload: each implementation's loss at the shared initial weights and its
    last epoch's mean loss, and the largest relative difference from deepgrad's (the
    peers start from the same weights and draw the same batch order, so without dropout
    their losses agree up to float32 rounding)."""
    rows = []
    for kind in TRAIN_KINDS:
        impls = sorted(k.split("/")[1] for k in s if k.startswith(kind + "/"))
        ref = s.get(f"{kind}/deepgrad")
        if ref is None or len(impls) < 2:
            continue
        init, last, diff_init, diff_last = {}, {}, 0.0, 0.0
        for impl in impls:
            d = s[f"{kind}/{impl}"]
            if d.get("initial_loss"):
                init[impl] = statistics.median(d["initial_loss"])
            seeds = sorted(d.get("losses", {}))
            if seeds and d["losses"][seeds[0]] and d["losses"][seeds[0]][-1] is not None:
                last[impl] = d["losses"][seeds[0]][-1]
            if impl == "deepgrad" or impl.startswith("deepgrad-") or impl == "sklearn":
                continue
            if impl in init and "deepgrad" in init:
                diff_init = max(diff_init, abs(init[impl] / init["deepgrad"] - 1))
            for seed in seeds:
                mine, theirs = d["losses"][seed], ref.get("losses", {}).get(seed)
                for x, y in zip(mine, theirs or [], strict=False):
                    if x is not None and y is not None and x == x and y == y:
                        diff_last = max(diff_last, abs(x / y - 1))
        rows.append({"kind": kind, "initial": init, "last": last,
                     "rel_diff_initial": diff_init, "rel_diff_epochs": diff_last})
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
             "| workload | impl | epoch s: median [min-max] | products alone s per epoch | "
             "products / epoch (paired) | inference s per pass over the test set | "
             "accuracy % | peak RSS MiB (training +) |",
             "|---|---|---|---|---|---|---|---|"]
    for key in sorted(k for k in s if k != "gemm"):
        d = s[key]
        kind, impl = key.split("/")
        own = d.get("own_floor_shares") or []
        share = f"{statistics.median(own):.2f}" if own else "-"
        lines.append(
            f"| {kind} ({d['epochs_per_run']} ep x {d['runs']}, {d['n_train']}) | {impl} | "
            f"{_fmt_stats(d['epoch'])} | {_fmt_stats(d.get('products'))} | {share} | "
            f"{_fmt_stats(d['infer'])} | {100 * d['accuracy_median']:.2f} | "
            f"{d['peak_rss_median']:.0f} (+{d['train_rss_median']:.0f}) |")
    lines += ["", "Products alone: the step's matrix products (every dense layer, every "
              "convolution as its im2col GEMM, the LSTM's gate products; forward and "
              "backward, no input gradient for the first layer) with the step's shapes, "
              "float32 through NumPy, timed in the same process right after each epoch "
              "and scaled to the epoch's steps: the time the step cannot go below with "
              "this BLAS. Paired: median over epochs of (products alone / that epoch)."]
    agree = loss_agreement(s)
    if agree:
        lines += ["", "| workload | loss at the shared initial weights | last epoch's "
                  "mean training loss | largest relative difference from deepgrad: "
                  "initial, epochs |", "|---|---|---|---|"]
        for r in agree:
            fmt = lambda m: ", ".join(f"{k} {v:.4f}" for k, v in m.items()) or "-"  # noqa: E731
            note = " (dropout masks differ)" if r["kind"] == "convnet" else ""
            lines.append(f"| {r['kind']} | {fmt(r['initial'])} | {fmt(r['last'])} | "
                         f"{r['rel_diff_initial']:.1e}, {r['rel_diff_epochs']:.1e}{note} |")
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
