"""Date translation: an encoder-decoder with attention turns human-written dates
("3 May 1979", "Tuesday, March 5 2019", "05/03/79", "5th of may, 79", "23. März 1976")
into ISO "1979-05-03" (the course's neural machine translation exercise, offline).

Encoder: character embedding + bidirectional LSTM (variable lengths, padded steps
skipped). Decoder: 10 steps of an LSTM cell whose input is a Bahdanau attention context
over the encoder outputs. Prints exact-match accuracy on held-out dates and saves an
attention map.

Run:  python examples/sequences/date_translation.py [--train 20000] [--epochs 5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data.dates import ISO_CHARS, make_dates
from deepgrad.data.text import BucketSampler, CharTokenizer, SequenceDataset, Vocab

TY = 10  # "YYYY-MM-DD"


class DateTranslator(nn.Module):
    def __init__(self, vocab_size: int, emb: int = 16, enc: int = 32, dec: int = 64,
                 rng: int = 0) -> None:
        super().__init__()
        self.dec_size = dec
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=0, rng=rng)
        self.encoder = nn.LSTM(emb, enc, batch_first=True, bidirectional=True, rng=rng + 1)
        self.attention = nn.AdditiveAttention(dec, 2 * enc, hidden_dim=16, rng=rng + 2)
        self.decoder = nn.LSTMCell(2 * enc, dec, rng=rng + 3)
        self.out = nn.Linear(dec, len(ISO_CHARS), rng=rng + 4)

    def forward(self, x, lengths):
        """x (N, Tx) token ids, lengths (N,) -> logits (N, 10, 11), attention (N, 10, Tx)."""
        a, _ = self.encoder(self.embed(x), lengths=lengths)  # (N, Tx, 2·enc)
        valid = np.arange(x.shape[1])[None, :] < np.asarray(lengths)[:, None]
        N = x.shape[0]
        s = dg.tensor(np.zeros((N, self.dec_size), dtype=a.dtype))
        c = s
        logits, weights = [], []
        for _ in range(TY):
            context, w = self.attention(s, a, mask=valid)
            s, c = self.decoder(context, (s, c))
            logits.append(self.out(s))
            weights.append(w)
        return dg.autograd.ops.stack(logits, axis=1), dg.autograd.ops.stack(weights, axis=1)


def encode(human, iso, vocab, tok):
    xs = [vocab.encode(tok(h)) for h in human]
    ys = np.array([[ISO_CHARS.index(ch) for ch in d] for d in iso], dtype=np.int64)
    return SequenceDataset(xs, ys)


def evaluate(model, ds, batch=500):
    model.eval()
    correct = 0
    with dg.no_grad():
        for x, lengths, y in dg.data.DataLoader(ds, batch_size=batch):
            logits, _ = model(x, lengths)
            correct += int(np.all(logits.data.argmax(-1) == y, axis=1).sum())
    model.train()
    return correct / len(ds)


def translate(model, vocab, tok, texts):
    x = [vocab.encode(tok(t)) for t in texts]
    ds = SequenceDataset(x)
    xb, lb = ds.take(np.arange(len(x)))
    model.eval()
    with dg.no_grad():
        logits, w = model(xb, lb)
    model.train()
    preds = ["".join(ISO_CHARS[i] for i in row) for row in logits.data.argmax(-1)]
    return preds, w.data, lb


def plot_attention(text, pred, weights, path):
    import matplotlib  # noqa: PLC0415 - optional, only for the picture

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(0.32 * len(text) + 1.5, 3.6))
    ax.imshow(weights[:, :len(text)], cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(text)), list(text))
    ax.set_yticks(range(TY), list(pred))
    ax.set_xlabel("input characters")
    ax.set_ylabel("output")
    ax.set_title(f"attention: {text!r} -> {pred}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=20000)
    ap.add_argument("--test", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--lr", type=float, default=0.005)
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS threads (the matrices are small: 1 is fastest)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("date_attention.png")))
    args = ap.parse_args(argv)
    dg.set_num_threads(args.threads)

    tok = CharTokenizer(lower=True)
    h_train, i_train = make_dates(args.train, seed=0)
    h_test, i_test = make_dates(args.test, seed=1)
    seen = set(i_train)  # held out: test dates never seen in training (in any format)
    keep = [k for k, d in enumerate(i_test) if d not in seen]
    h_test, i_test = [h_test[k] for k in keep], [i_test[k] for k in keep]
    vocab = Vocab.build(map(tok, h_train), bos=None, eos=None)
    train, test = encode(h_train, i_train, vocab, tok), encode(h_test, i_test, vocab, tok)
    print(f"{len(train)} training pairs, {len(test)} held-out pairs (unseen dates), "
          f"{len(vocab)} input characters, longest input {train.lengths.max()}")

    model = DateTranslator(len(vocab))
    opt = dg.optim.Adam(model.parameters(), lr=args.lr)
    sampler = BucketSampler(train.lengths, args.batch_size, seed=0)
    loader = dg.data.DataLoader(train, batch_size=args.batch_size, sampler=sampler)
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        for x, lengths, y in loader:
            logits, _ = model(x, lengths)
            loss = dg.losses.cross_entropy(logits.reshape(-1, len(ISO_CHARS)), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.data) * len(x)
        acc = evaluate(model, test)
        print(f"epoch {epoch}: loss {total / len(train):.4f}, held-out exact match "
              f"{acc:.2%}, {time.perf_counter() - t0:.0f} s")
    examples = ["3 May 1979", "Tuesday, March 5 2019", "05/03/79", "5th of may, 79",
                "23. März 1976", "the 1st of january, 2001"]
    preds, w, lengths = translate(model, vocab, tok, examples)
    for t, p in zip(examples, preds, strict=True):
        print(f"  {t!r:32} -> {p}")
    plot_attention(examples[1].lower(), preds[1], w[1], args.out)
    print(f"attention map: {args.out}")


if __name__ == "__main__":
    main()
