"""A small ResNet on Fashion-MNIST, written twice: with the functional API and as a Module.

The network: a conv3x3-BN-ReLU stem, then stages of residual blocks (conv-BN-ReLU-conv-BN,
plus the block's input through the shortcut, then ReLU). A block keeps the identity as its
shortcut when its input already has the right shape, and uses a projection (conv1x1 with
the block's stride, then BN) when it changes the width or halves the resolution. Global
average pooling and one linear layer give the class scores. ``--widths 16 32 64`` and
``--blocks 1`` make 77,754 parameters (the network of examples/fashion_mnist_resnet.yaml).

``resnet_functional`` and ``ResNet`` build the same network; ``copy_weights`` carries one's
weights into the other, and then they compute the same outputs (tests/test_examples_resnet.py).

Needs the Fashion-MNIST files: --data DIR, or DEEPGRAD_DATA with a fashion-mnist/ folder.

Run:  DEEPGRAD_DATA=/data python examples/resnet.py --epochs 15 --augment
      mpiexec -n 2 python examples/resnet.py --epochs 15 --augment --threads 1  # 2 ranks
      # 92.85 % test accuracy (51 min on 2 cores; docs/graph_models.md has the runs):
      mpiexec -n 2 python examples/resnet.py --widths 16 48 96 --epochs 24 --augment --threads 1
      python examples/resnet.py --api module --limit 2000 --epochs 1     # a quick look
      python examples/resnet.py --plot resnet.png --epochs 0             # just the picture
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from typing import Any

import deepgrad as dg
import deepgrad.distributed as dist
from deepgrad import nn

__all__ = ["resnet_functional", "ResNet", "ResidualBlock", "copy_weights", "module_name"]


def _conv(c_in: int, c_out: int, k: int, stride: int = 1, name: str | None = None
          ) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False,
                     init="he_normal", name=name)


def _plan(widths: Sequence[int], blocks: int) -> list[tuple[int, int, int]]:
    """(input channels, output channels, stride) of every block."""
    plan, c = [], widths[0]
    for s, w in enumerate(widths):
        for b in range(blocks):
            plan.append((c, w, 2 if s > 0 and b == 0 else 1))
            c = w
    return plan


# --------------------------------------------------------------------------- functional API
def _block(x: Any, c_in: int, c_out: int, stride: int, k: int) -> Any:
    p = f"block{k}"
    h = _conv(c_in, c_out, 3, stride, f"{p}_conv1")(x)
    h = nn.ReLU(name=f"{p}_relu1")(nn.BatchNorm2d(c_out, name=f"{p}_bn1")(h))
    h = nn.BatchNorm2d(c_out, name=f"{p}_bn2")(_conv(c_out, c_out, 3, 1, f"{p}_conv2")(h))
    if stride != 1 or c_in != c_out:  # projection shortcut
        x = _conv(c_in, c_out, 1, stride, f"{p}_proj_conv")(x)
        x = nn.BatchNorm2d(c_out, name=f"{p}_proj_bn")(x)
    return nn.ReLU(name=f"{p}_out")(_named(nn.Add(), f"{p}_add")([h, x]))


def _named(layer: nn.Module, name: str) -> nn.Module:
    """``layer`` with a name (Add takes no ``name=`` yet)."""
    object.__setattr__(layer, "name", name)
    return layer


def resnet_functional(input_shape: Sequence[int] = (1, 28, 28),
                      widths: Sequence[int] = (16, 32, 64), blocks: int = 1,
                      num_classes: int = 10) -> nn.Model:
    """The ResNet as a graph ``Model`` (Keras's functional API).

    Shape:
        input (N, C, H, W) -> class scores (N, num_classes).
    """
    inputs = nn.Input(tuple(input_shape), name="image")
    x = _conv(input_shape[0], widths[0], 3, 1, "stem_conv")(inputs)
    x = nn.ReLU(name="stem_relu")(nn.BatchNorm2d(widths[0], name="stem_bn")(x))
    for k, (c_in, c_out, stride) in enumerate(_plan(widths, blocks), start=1):
        x = _block(x, c_in, c_out, stride, k)
    x = nn.GlobalAvgPool2d(name="pool")(x)
    outputs = nn.Linear(widths[-1], num_classes, name="fc")(x)
    return nn.Model(inputs, outputs, name="resnet")


# --------------------------------------------------------------------------- Module subclass
class ResidualBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the identity or a projection (conv1x1-BN), ReLU.

    Shape:
        (N, c_in, H, W) -> (N, c_out, H / stride, W / stride).
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1, self.bn1 = _conv(c_in, c_out, 3, stride), nn.BatchNorm2d(c_out)
        self.conv2, self.bn2 = _conv(c_out, c_out, 3), nn.BatchNorm2d(c_out)
        self.proj_conv = self.proj_bn = None
        if stride != 1 or c_in != c_out:
            self.proj_conv, self.proj_bn = _conv(c_in, c_out, 1, stride), nn.BatchNorm2d(c_out)

    def forward(self, x: dg.Tensor) -> dg.Tensor:
        h = dg.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        if self.proj_conv is not None:
            x = self.proj_bn(self.proj_conv(x))
        return dg.relu(h + x)


class ResNet(nn.Module):
    """The same ResNet as :func:`resnet_functional`, as a Module subclass (PyTorch's way).

    Shape:
        input (N, C, H, W) -> class scores (N, num_classes).
    """

    def __init__(self, in_channels: int = 1, widths: Sequence[int] = (16, 32, 64),
                 blocks: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        self.stem_conv, self.stem_bn = _conv(in_channels, widths[0], 3), nn.BatchNorm2d(widths[0])
        self.blocks = nn.ModuleList([ResidualBlock(*p) for p in _plan(widths, blocks)])
        self.pool = nn.GlobalAvgPool2d()
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x: dg.Tensor) -> dg.Tensor:
        x = dg.relu(self.stem_bn(self.stem_conv(x)))
        for block in self.blocks:
            x = block(x)
        return self.fc(self.pool(x))


def module_name(functional_key: str) -> str:
    """A functional model's state-dict key as the Module's: ``block2_conv1.weight`` ->
    ``blocks.1.conv1.weight``; ``stem_bn.running_mean`` and ``fc.bias`` are the same."""
    m = re.fullmatch(r"block(\d+)_(\w+?)\.(\w+)", functional_key)
    if m is None:
        return functional_key
    return f"blocks.{int(m.group(1)) - 1}.{m.group(2)}.{m.group(3)}"


def copy_weights(functional: nn.Module, module: nn.Module) -> None:
    """Load the functional model's parameters and BN statistics into the Module."""
    state = {module_name(k): v for k, v in functional.state_dict().items()}
    module.load_state_dict(state)


# --------------------------------------------------------------------------- training
def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="directory with the Fashion-MNIST IDX files")
    p.add_argument("--api", choices=("functional", "module"), default="functional")
    p.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64])
    p.add_argument("--blocks", type=int, default=1, help="residual blocks per stage")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3, help="Adam's peak learning rate")
    p.add_argument("--augment", action="store_true", help="random crops (padding 2) and "
                   "horizontal flips")
    p.add_argument("--limit", type=int, default=None, help="use the first N training images")
    p.add_argument("--test-limit", type=int, default=None,
                   help="validate and test on the first N test images")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", default=None, help="write the trained model (.dg)")
    p.add_argument("--plot", default=None, help="draw the layer graph (.png/.svg/.dot)")
    return p.parse_args(argv)


def _fit(model: nn.Module, args: argparse.Namespace, X: Any, y: Any, Xt: Any, yt: Any) -> Any:
    opt = dg.optim.Adam(model.parameters(), lr=args.lr)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    sched = dg.callbacks.LearningRateScheduler(dg.optim.CosineAnnealingLR(opt, args.epochs))
    data: Any = X
    if args.augment:
        aug = dg.data.Compose([dg.data.RandomHorizontalFlip(seed=args.seed),
                               dg.data.RandomCrop(X.shape[2:], padding=2, seed=args.seed + 1)])
        sampler = None  # under mpiexec each rank takes its share of every epoch
        if dist.world_size() > 1:
            sampler = dist.DistributedSampler(len(X), shuffle=True, seed=args.seed)
        data, y = dg.data.DataLoader(dg.data.ArrayDataset(X, y), batch_size=args.batch_size,
                                     shuffle=sampler is None, seed=args.seed, transform=aug,
                                     sampler=sampler), None
    return model.fit(data, y, epochs=args.epochs, batch_size=args.batch_size,
                     validation_data=(Xt, yt), seed=args.seed, callbacks=[sched])


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    if args.threads:
        dg.set_num_threads(args.threads)
    dg.manual_seed(args.seed)
    model = (resnet_functional(widths=args.widths, blocks=args.blocks) if args.api ==
             "functional" else ResNet(1, args.widths, args.blocks))
    if args.plot:
        import deepgrad.viz  # noqa: PLC0415 - matplotlib only when drawing

        deepgrad.viz.plot_model(model if args.api == "functional" else
                                resnet_functional(widths=args.widths, blocks=args.blocks),
                                args.plot)
        print(f"wrote {args.plot}")
    if args.epochs < 1:
        return 0
    try:
        X, y = dg.data.load_fashion_mnist(args.data, kind="train")
        Xt, yt = dg.data.load_fashion_mnist(args.data, kind="test")
    except (FileNotFoundError, OSError) as e:
        print(f"Fashion-MNIST files not found, skipping: {e}")
        return 0
    X, Xt = (dg.data.scale_pixels(a)[:, None] for a in (X[:args.limit], Xt[:args.test_limit]))
    y, yt = y[:args.limit], yt[:args.test_limit]  # images (N, 1, 28, 28) in [0, 1]
    if dist.is_main():
        model.summary((1, 28, 28))
    t0 = time.perf_counter()
    _fit(model, args, X, y, Xt, yt)
    dt = time.perf_counter() - t0
    res = model.evaluate(Xt, yt, verbose=0)
    if not dist.is_main():
        return 0
    print(f"{args.api} ResNet, {args.epochs} epochs on {len(X):,} images in {dt:.0f} s "
          f"({dt / args.epochs:.0f} s/epoch): accuracy on {len(Xt):,} test images "
          f"{100 * res['accuracy']:.2f} %")
    if args.save:
        dg.save(model, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
