"""Character-level language model: a 2-layer LSTM trained on text every machine has (the
Python standard library's own source files by default, or any text file given). Reports
bits per character on a held-out file, samples at several temperatures, and the time.

Run:  python examples/sequences/char_lm.py [--text FILE] [--minutes 3]
"""

from __future__ import annotations

import argparse
import math
import sysconfig
import time
from pathlib import Path

import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data.text import CharTokenizer, Vocab

HELD_OUT = "textwrap.py"  # a standard-library file kept out of training


def stdlib_text(limit: int) -> tuple[str, str]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.glob("*.py") if p.name != HELD_OUT)
    parts, size = [], 0
    for p in files:
        s = p.read_text(encoding="utf-8", errors="replace")
        parts.append(s)
        size += len(s)
        if size >= limit:
            break
    return "".join(parts)[:limit], (root / HELD_OUT).read_text(encoding="utf-8")


class CharLM(nn.Module):
    def __init__(self, vocab: int, emb: int = 64, hidden: int = 256) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, emb, rng=0)
        self.lstm = nn.LSTM(emb, hidden, num_layers=2, batch_first=True, dropout=0.1, rng=1)
        self.head = nn.Linear(hidden, vocab, rng=2)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embed(x), state)
        return self.head(out), state


def bits_per_char(model, ids, seq=200, batch=32):
    """Mean cross-entropy in bits of each next character, the state carried along."""
    n = (len(ids) - 1) // batch * batch
    x = ids[:n].reshape(batch, -1)
    y = ids[1:n + 1].reshape(batch, -1)
    total, state = 0.0, None
    model.eval()
    with dg.no_grad():
        for s in range(0, x.shape[1], seq):
            logits, state = model(x[:, s:s + seq], state)
            V = logits.shape[-1]
            total += float(dg.losses.cross_entropy(logits.reshape(-1, V),
                                                   y[:, s:s + seq].reshape(-1),
                                                   reduction="sum").data)
    model.train()
    return total / x.size / math.log(2)


def sample(model, vocab, prompt, n, temperature, rng):
    ids = np.array([vocab.encode(prompt)])
    model.eval()
    out = []
    with dg.no_grad():
        logits, state = model(ids)
        for _ in range(n):
            z = logits.data[0, -1].astype(np.float64) / temperature
            p = np.exp(z - z.max())
            nxt = int(rng.choice(len(p), p=p / p.sum()))
            out.append(nxt)
            logits, state = model(np.array([[nxt]]), state)
    model.train()
    return prompt + "".join(vocab.decode(out, skip_specials=False, stop_at_eos=False))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text", help="a UTF-8 text file (default: the standard library)")
    ap.add_argument("--chars", type=int, default=1_000_000, help="training characters")
    ap.add_argument("--minutes", type=float, default=3.0, help="training time budget")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    dg.set_num_threads(args.threads)
    if args.text:
        text = Path(args.text).read_text(encoding="utf-8")
        cut = int(len(text) * 0.9)
        train_text, held = text[:cut], text[cut:]
    else:
        train_text, held = stdlib_text(args.chars)
    tok = CharTokenizer()
    vocab = Vocab.build([tok(train_text)], bos=None, eos=None)
    train_ids = np.array(vocab.encode(tok(train_text)))
    held_ids = np.array(vocab.encode(tok(held)))
    print(f"{len(train_ids):,} training characters, {len(held_ids):,} held out, "
          f"{len(vocab)} symbols")
    model = CharLM(len(vocab), hidden=args.hidden)
    opt = dg.optim.Adam(model.parameters(), lr=2e-3)
    rng = np.random.default_rng(0)
    B, T = 64, 100
    t0, step = time.perf_counter(), 0
    while time.perf_counter() - t0 < args.minutes * 60:
        starts = rng.integers(0, len(train_ids) - T - 1, B)
        idx = starts[:, None] + np.arange(T + 1)
        batch = train_ids[idx]
        logits, _ = model(batch[:, :-1])
        loss = dg.losses.cross_entropy(logits.reshape(-1, len(vocab)), batch[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        dg.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 50 == 0:
            print(f"step {step}: {float(loss.data) / math.log(2):.3f} bits/char "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    train_s = time.perf_counter() - t0
    bpc = bits_per_char(model, held_ids)
    print(f"trained {step} steps of {B}x{T} characters in {train_s:.0f} s; held-out "
          f"({HELD_OUT if not args.text else 'last 10%'}): {bpc:.3f} bits per character")
    for temp in (0.5, 0.8, 1.0):
        print(f"--- temperature {temp} ---")
        print(sample(model, vocab, "def ", 300, temp, np.random.default_rng(1)))


if __name__ == "__main__":
    main()
