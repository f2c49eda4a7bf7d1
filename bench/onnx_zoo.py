"""The ONNX light model zoo (AlexNet, ZFNet-512, VGG-19, ResNet-50, SqueezeNet, Inception
v1/v2, DenseNet-121, ShuffleNet; shipped in the onnx wheel) imported with deepgrad and run
against ONNX Runtime on the same random 1x3x224x224 input.

The light models store their weights as constants (ConstantOfShape), which makes every
output the same; this bench gives each weight random values first (the same file for
both runtimes), so the outputs are informative. Times are the median of ``--reps`` runs
of one image after a warm-up run, both runtimes on the same threads, interleaved.

    python -m bench.onnx_zoo [--reps 5] [--only resnet50,squeezenet] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

MODELS = ["bvlc_alexnet", "zfnet512", "vgg19", "resnet50", "squeezenet", "inception_v1",
          "inception_v2", "densenet121", "shufflenet"]


def randomized(name: str, seed: int = 0) -> bytes:
    """The light model ``name`` with its ConstantOfShape weights replaced by random ones."""
    import onnx
    from onnx import numpy_helper

    root = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
    m = onnx.load(str(root / f"light_{name}.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    rng = np.random.default_rng(seed)
    keep, new = [], []
    for node in m.graph.node:
        if node.op_type != "ConstantOfShape":
            keep.append(node)
            continue
        shape = tuple(int(d) for d in inits[node.input[0]])
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        a = rng.standard_normal(shape) / np.sqrt(fan_in)
        if len(shape) == 1:  # batch-norm statistics and biases: positive, near 1
            a = np.abs(a) + 0.5
        new.append(numpy_helper.from_array(a.astype(np.float32), node.output[0]))
    del m.graph.node[:]
    m.graph.node.extend(keep)
    m.graph.initializer.extend(new)
    return m.SerializeToString()


def main() -> None:
    ap = argparse.ArgumentParser(description="deepgrad's ONNX import vs ONNX Runtime")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    import onnxruntime as ort

    import deepgrad as dg

    dg.set_num_threads(args.threads)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.log_severity_level = 3
    names = [n for n in MODELS if not args.only or n in args.only.split(",")]
    x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    print(f"{'model':<14}{'import s':>9}{'deepgrad ms':>13}{'ORT ms':>9}{'ratio':>7}"
          f"{'max |diff|':>12}{'max |y|':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = Path(tmp) / f"{name}.onnx"
            path.write_bytes(randomized(name))
            t = time.perf_counter()
            model = dg.onnx.load(path)
            t_import = time.perf_counter() - t
            model.eval()
            sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            feed = {sess.get_inputs()[0].name: x}
            with dg.no_grad():
                got = np.asarray(model(x).data)
            want = sess.run(None, feed)[0]
            td, to = [], []
            for _ in range(args.reps):
                with dg.no_grad():
                    t = time.perf_counter()
                    model(x)
                    td.append(time.perf_counter() - t)
                t = time.perf_counter()
                sess.run(None, feed)
                to.append(time.perf_counter() - t)
            md, mo = statistics.median(td) * 1e3, statistics.median(to) * 1e3
            print(f"{name:<14}{t_import:>9.1f}{md:>13.0f}{mo:>9.0f}{md / mo:>7.1f}"
                  f"{float(np.abs(got - want).max()):>12.2e}{float(np.abs(want).max()):>10.2e}")
            del model, sess


if __name__ == "__main__":
    main()
