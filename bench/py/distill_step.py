"""One distillation step in PyTorch + transformers, timed: teacher forward, student forward/backward on the
forward KL (T = 1, mean over positions), gradient clipping at 1.0 and an AdamW update — the step the
project's trainer takes.

Usage: python distill_step.py TEACHER_DIR STUDENT_DIR THREADS BATCH SEQ
Speaks protocol.py: each run is one step on fresh random rows (one warm-up step at setup); finish gives
{"loss": the last step's loss, "peak_rss": bytes}.
"""
import sys
import time

import torch
from transformers import AutoModelForCausalLM

from protocol import peak_rss_bytes, serve
from train_common import clip_and_step, trainer_adamw


def setup():
    teacher_dir, student_dir = sys.argv[1:3]
    threads, batch, seq = (int(x) for x in sys.argv[3:6])
    torch.set_num_threads(threads)
    torch.manual_seed(5)
    teacher = AutoModelForCausalLM.from_pretrained(teacher_dir, dtype=torch.float32).eval()
    student = AutoModelForCausalLM.from_pretrained(student_dir, dtype=torch.float32).train()
    opt = trainer_adamw(student.parameters())
    vocab = student.config.vocab_size
    last = {}

    def run():
        ids = torch.randint(0, vocab, (batch, seq))
        start = time.perf_counter()
        with torch.no_grad():
            lt = torch.log_softmax(teacher(input_ids=ids, use_cache=False).logits.float(), dim=-1)
        ls = torch.log_softmax(student(input_ids=ids, use_cache=False).logits.float(), dim=-1)
        loss = (lt.exp() * (lt - ls)).sum(-1).mean()
        loss.backward()
        clip_and_step(student, opt)
        last["loss"] = loss.item()
        return (time.perf_counter() - start) * 1000

    run()  # warm-up
    return run, lambda: {"loss": last["loss"], "peak_rss": peak_rss_bytes()}


if __name__ == "__main__":
    serve(setup)
