"""Train the triage sentiment layer: a softmax over the multilingual sentence embedding.

    .venv/bin/python -m tools.triage.train [--data FOLDER]

Reads the training part of tools/triage/data.py's sources, embeds them with the same encoder the
inbox uses, fits a three-class (negative, neutral, positive) softmax with L2 regularisation and
class-balanced weights by full-batch gradient descent in numpy, and writes
rupor/inbox/triage_weights.npz. Embeddings are cached beside the data (``embeddings.npz``).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

from rupor.inbox import triage
from tools.triage import data


def embeddings(folder: Path, examples: list[data.Example]) -> np.ndarray:
    """The encoder's vectors for the examples, cached by text."""
    cache = folder / "embeddings.npz"
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as stored:
            known = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
    keys = [hashlib.sha256(triage.clean(e.text).encode()).hexdigest() for e in examples]
    missing = sorted({k: e for k, e in zip(keys, examples, strict=True) if k not in known}.items())
    for start in range(0, len(missing), 256):
        chunk = missing[start : start + 256]
        vectors = triage.embed([triage.clean(e.text) for _k, e in chunk])
        known.update({k: v for (k, _e), v in zip(chunk, vectors, strict=True)})
        print(f"embedded {start + len(chunk)}/{len(missing)}", file=sys.stderr)
    if missing:
        np.savez(cache, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[k] for k in keys]).astype(np.float32)


def fit(x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, l2: float = 1e-4, steps: int = 3000):
    d = x.shape[1]
    w = np.zeros((d, 3), dtype=np.float32)
    b = np.zeros(3, dtype=np.float32)
    onehot = np.eye(3, dtype=np.float32)[y]
    lr = 4.0
    for _ in range(steps):
        p = triage.softmax(x @ w + b)
        g = (p - onehot) * sample_weight[:, None] / sample_weight.sum()
        w -= lr * (x.T @ g + l2 * w)
        b -= lr * g.sum(axis=0)
    return w, b


def weights_for(examples: list[data.Example]) -> np.ndarray:
    """Each (language, class) group weighs the same in all, so no language or class drowns out."""
    groups: dict[tuple[str, int], int] = {}
    for e in examples:
        groups[(e.language, e.label)] = groups.get((e.language, e.label), 0) + 1
    return np.array([1.0 / groups[(e.language, e.label)] for e in examples], dtype=np.float32) * len(examples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data")
    parser.add_argument("--l2", type=float, default=1e-4)
    parser.add_argument("--out", default=str(triage.WEIGHTS_PATH))
    args = parser.parse_args()
    folder = data.data_dir(args.data)
    train = [e for e in data.everything(folder) if not e.held_out]
    x = embeddings(folder, train)
    y = np.array([e.label for e in train])
    w, b = fit(x, y, weights_for(train), l2=args.l2)
    np.savez_compressed(args.out, W=w.astype(np.float16), b=b.astype(np.float32))
    counts = {lang: sum(1 for e in train if e.language == lang) for lang in ("en", "ru", "ko")}
    print(f"trained on {len(train)} examples {counts}; wrote {args.out}")


if __name__ == "__main__":
    main()
