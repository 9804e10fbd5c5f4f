"""transformers' forward of a checkpoint, timed run by run, and its logits against the project's.

Usage: python forward.py MODEL_DIR IDS_BIN OUR_LOGITS_BIN THREADS BATCH SEQ
IDS_BIN: int64 [BATCH, SEQ] token ids; OUR_LOGITS_BIN: float32 logits of the same rows (the project's),
read at finish, so the bench may write it after starting this script.
Speaks protocol.py: each run is one forward returning logits (use_cache=False: a prefill, as the project's
side measures); finish gives {"max_abs_diff": max |Δlogits|}.
"""
import sys
import time

import numpy as np
import torch
from transformers import AutoModelForCausalLM

from protocol import serve


def setup():
    path, ids_bin, logits_bin = sys.argv[1:4]
    threads, batch, seq = (int(x) for x in sys.argv[4:7])
    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    ids = torch.from_numpy(np.fromfile(ids_bin, dtype=np.int64).reshape(batch, seq))
    with torch.no_grad():
        theirs = model(input_ids=ids, use_cache=False).logits.float().numpy()  # also the warm-up

    def run():
        with torch.no_grad():
            start = time.perf_counter()
            model(input_ids=ids, use_cache=False)
            return (time.perf_counter() - start) * 1000

    def finish():
        ours = np.fromfile(logits_bin, dtype=np.float32).reshape(theirs.shape)
        return {"max_abs_diff": float(np.abs(theirs - ours).max())}

    return run, finish


if __name__ == "__main__":
    serve(setup)
