"""A BERT sentence encoder (mean pooling, unit length) in numpy, for embedding one query at a time.

Hand-written on purpose (issue #34): importing sentence-transformers costs about 5 s on 2 cores (torch,
transformers, scipy, sklearn), which a cold `rag ask` paid for one 20-token question. The libraries it
needs instead, `tokenizers`, `safetensors`, numpy and scipy.special, import in about 0.2 s together. onnxruntime
would be the library choice, but the packaged model ships no ONNX file and exporting one needs torch.
Document batches still go through sentence-transformers (`LocalEmbedder.embed_documents`); the two agree
to float32 rounding, which `tests/backends/test_bert_numpy.py` checks against the real model.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact gelu, x * Phi(x). scipy.special alone imports in 30 ms once bm25s has imported scipy."""
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.float32(math.sqrt(2.0))))


class NumpyBert:
    """The forward pass of a BertModel folder (config.json, model.safetensors, tokenizer.json)."""

    def __init__(self, path: str | Path, max_seq_length: int | None = None, batch_size: int = 32) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(path)
        if not self.runs(folder):  # the one test of what this encoder computes exactly
            raise ValueError(f"not a plain mean-pooled BERT model with gelu: {folder}")
        config = json.loads((folder / "config.json").read_text())
        if max_seq_length is None:  # sentence-transformers' own limit, which overrides tokenizer.json's
            st_config = folder / "sentence_bert_config.json"
            max_seq_length = json.loads(st_config.read_text()).get("max_seq_length") if st_config.is_file() else None
        self.max_seq_length = int(max_seq_length or config["max_position_embeddings"])
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.w: dict[str, Any] = load_file(str(folder / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()  # padded here, per batch, to its longest text
        self.batch_size = batch_size
        self.tokenizer.enable_truncation(self.max_seq_length)

    @staticmethod
    def runs(path: str | Path) -> bool:
        """Whether this encoder computes what sentence-transformers would for the folder: a plain BERT with
        gelu, then mean pooling alone (the unit length is applied to every local embedding)."""
        folder = Path(path)
        try:
            config = json.loads((folder / "config.json").read_text())
            modules = json.loads((folder / "modules.json").read_text())
            pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
        except (OSError, ValueError):
            return False
        kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
        modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
        return (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
                and config.get("position_embedding_type", "absolute") == "absolute"
                and kinds in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"])
                and modes == {"pooling_mode_mean_tokens"} and (folder / "model.safetensors").is_file()
                and (folder / "tokenizer.json").is_file())

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length means of the last layer's token states, as sentence-transformers computes them; texts
        of like length are run together (sorted, padded, masked), as sentence-transformers batches them."""
        out = np.zeros((len(texts), self.w["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts) if texts else []
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for b in range(0, len(order), self.batch_size):
            rows = order[b:b + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.float32)
            for r, i in enumerate(rows):
                ids[r, : len(encodings[i].ids)] = encodings[i].ids
                mask[r, : len(encodings[i].ids)] = 1.0
            out[rows] = self._forward(ids, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.w
        batch, n = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        hidden = x.shape[-1]
        size = hidden // self.heads
        blocked = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]  # padding is never attended to
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (self._dense(x, p + f"attention.self.{m}").reshape(batch, n, self.heads, size)
                       .transpose(0, 2, 1, 3) for m in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(size)) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attended = (scores / scores.sum(-1, keepdims=True)) @ v
            attended = attended.transpose(0, 2, 1, 3).reshape(batch, n, hidden)
            x = _layer_norm(x + self._dense(attended, p + "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"],
                            self.eps)
            inner = _gelu(self._dense(x, p + "intermediate.dense"))
            x = _layer_norm(x + self._dense(inner, p + "output.dense"),
                            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)
