"""Calibration in PyTorch + transformers with forward hooks, timed: the project's importance statistics
(research/paper.md §2.2, §3), reduced batch by batch as the project's calibration does —
  per tap, s[c] = sqrt(Σ_rows (mean_t |a|)²) (embedding channels: the sum of it over every pre-norm output; Mamba x
  channels → heads/channels, MLP neurons, attention heads); FLAP: ‖W[:, j]‖² · Var(x_j) over all tokens
  (out_proj / down_proj inputs); depth: mean over tokens of 1 − cos(block input, block output).

Usage: python calibrate_hooks.py MODEL_DIR IDS_BIN ROWS SEQ BATCH THREADS OUT_SAFETENSORS
IDS_BIN: int64 [ROWS, SEQ] calibration rows (the project's, tokenised by the bench).
Speaks protocol.py: each run is one calibration pass over all rows; finish writes the last pass's scores
to OUT_SAFETENSORS (the names of the project's importance file) and gives {"tensors": [...]}.
"""
import sys
import time

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

from protocol import serve


class Stats:
    """Float64 accumulators of one pass."""

    def __init__(self):
        self.sq = {}  # key -> Σ_rows (mean_t |a|)²
        self.sum = {}  # key -> mean over tokens
        self.sum2 = {}  # key -> Σ_tokens (a − mean)²
        self.count = {}  # key -> tokens
        self.bi = {}  # layer -> [Σ_tokens (1 − cos), tokens]

    def score(self, key, a):
        s = a.abs().mean(dim=1).double().pow(2).sum(dim=0)
        self.sq[key] = self.sq.get(key, 0) + s

    def moments(self, key, a):
        # Per-batch mean and M2, merged into the running ones (Chan et al.'s parallel variance).
        x = a.reshape(-1, a.shape[-1]).double()
        n_b = x.shape[0]
        mean_b = x.mean(0)
        m2_b = (x - mean_b).pow(2).sum(0)
        n = self.count.get(key, 0)
        if n == 0:
            self.sum[key], self.sum2[key] = mean_b, m2_b
        else:
            delta = mean_b - self.sum[key]
            total = n + n_b
            self.sum[key] = self.sum[key] + delta * (n_b / total)
            self.sum2[key] = self.sum2[key] + m2_b + delta.pow(2) * (n * n_b / total)
        self.count[key] = n + n_b

    def variance(self, key):
        return self.sum2[key] / self.count[key]


def setup():
    path, ids_bin = sys.argv[1:3]
    rows, seq, batch, threads = (int(x) for x in sys.argv[3:7])
    out_path = sys.argv[7]
    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    cfg = model.config
    ids = torch.from_numpy(np.fromfile(ids_bin, dtype=np.int64).reshape(rows, seq))
    layers = model.base_model.layers
    st = [Stats()]

    def on_norm(n):
        def f(_m, _inp, out):
            st[0].score(f"{n}.norm", out)
        return f

    def on_block(n):
        def f(_m, inp, out):
            a = inp[0].double()
            b = (out[0] if isinstance(out, tuple) else out).double()
            eps = 1e-8
            cos = (a * b).sum(-1) / (a.norm(dim=-1).clamp_min(eps) * b.norm(dim=-1).clamp_min(eps))
            acc = st[0].bi.setdefault(n, [0.0, 0])
            acc[0] += (1 - cos).sum().item()
            acc[1] += cos.numel()
        return f

    def on_in_proj(n, inner):
        def f(_m, _inp, out):
            st[0].score(f"{n}.x", out[..., inner:2 * inner])
        return f

    def on_input(n, key, flap):
        def f(_m, inp, _out):
            if key != "o_proj":
                st[0].moments(f"{n}.{key}", inp[0])
            if flap:
                return
            st[0].score(f"{n}.{key}", inp[0])
        return f

    for n, block in enumerate(layers):
        block.norm.register_forward_hook(on_norm(n))
        block.register_forward_hook(on_block(n))
        mixer = block.mixer
        if hasattr(mixer, "in_proj"):
            mixer.in_proj.register_forward_hook(on_in_proj(n, mixer.num_heads * mixer.head_dim))
            mixer.out_proj.register_forward_hook(on_input(n, "out_proj", True))
        elif hasattr(mixer, "down_proj"):
            mixer.down_proj.register_forward_hook(on_input(n, "down_proj", False))
        elif hasattr(mixer, "o_proj"):
            mixer.o_proj.register_forward_hook(on_input(n, "o_proj", False))

    def run():
        st[0] = Stats()
        start = time.perf_counter()
        with torch.no_grad():
            # The trunk only, as the project's calibration graph: no lm_head.
            for r in range(0, rows, batch):
                model.base_model(input_ids=ids[r:r + batch], use_cache=False)
        return (time.perf_counter() - start) * 1000

    def finish():
        s = st[0]
        # Embedding channels: the sum over layers of each pre-norm output's score.
        out = {"embedding.channels": sum(s.sq[f"{n}.norm"].sqrt() for n in range(len(layers)))}
        for n, block in enumerate(layers):
            mixer = block.mixer
            if hasattr(mixer, "in_proj"):
                H, P = mixer.num_heads, mixer.head_dim
                a = s.sq[f"{n}.x"].sqrt().reshape(H, P)
                out[f"layers.{n}.mamba.activations"] = a
                out[f"layers.{n}.mamba.channels"] = a.pow(2).sum(0).sqrt()
                out[f"layers.{n}.mamba.heads"] = a.pow(2).sum(1).sqrt()
                w2 = mixer.out_proj.weight.double().pow(2).sum(0)
                out[f"layers.{n}.mamba.flap"] = (w2 * s.variance(f"{n}.out_proj")).reshape(H, P).sum(1)
            elif hasattr(mixer, "down_proj"):
                out[f"layers.{n}.mlp.neurons"] = s.sq[f"{n}.down_proj"].sqrt()
                w2 = mixer.down_proj.weight.double().pow(2).sum(0)
                out[f"layers.{n}.mlp.flap"] = w2 * s.variance(f"{n}.down_proj")
            elif hasattr(mixer, "o_proj"):
                out[f"layers.{n}.attention.heads"] = s.sq[f"{n}.o_proj"].sqrt().reshape(-1, cfg.head_dim).pow(2).sum(1).sqrt()
        out["depth.block_importance"] = torch.tensor([s.bi[n][0] / s.bi[n][1] for n in range(len(layers))], dtype=torch.float64)
        save_file({k: v.float().contiguous() for k, v in out.items()}, out_path)
        return {"tensors": sorted(out)}

    return run, finish


if __name__ == "__main__":
    serve(setup)
