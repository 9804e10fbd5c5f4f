"""One training step of a checkpoint in PyTorch + transformers, timed: forward, next-token cross-entropy,
backward, gradient clipping at 1.0 and an AdamW update (float32 master weights, as the project's trainer).

Usage: python train_step.py MODEL_DIR THREADS BATCH SEQ
Speaks protocol.py: each run is one step on fresh random rows (one warm-up step at setup); finish gives
{"loss": the last step's loss, "params": parameter count, "peak_rss": bytes}.
"""
import sys
import time

import torch
from transformers import AutoModelForCausalLM

from protocol import peak_rss_bytes, serve
from train_common import clip_and_step, trainer_adamw


def setup():
    path = sys.argv[1]
    threads, batch, seq = (int(x) for x in sys.argv[2:5])
    torch.set_num_threads(threads)
    torch.manual_seed(5)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).train()
    opt = trainer_adamw(model.parameters())
    vocab = model.config.vocab_size
    last = {}

    def run():
        ids = torch.randint(0, vocab, (batch, seq))
        start = time.perf_counter()
        loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        clip_and_step(model, opt)
        last["loss"] = loss.item()
        return (time.perf_counter() - start) * 1000

    run()  # warm-up
    params = sum(p.numel() for p in model.parameters())
    return run, lambda: {"loss": last["loss"], "params": params, "peak_rss": peak_rss_bytes()}


if __name__ == "__main__":
    serve(setup)
