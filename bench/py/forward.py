"""transformers' forward of a checkpoint, timed, and its logits against the project's.

Usage: python forward.py MODEL_DIR IDS_BIN OUR_LOGITS_BIN THREADS RUNS BATCH SEQ
IDS_BIN: int64 [BATCH, SEQ] token ids; OUR_LOGITS_BIN: float32 logits of the same rows (the project's).
Prints one JSON line: {"seconds": median forward seconds, "max_abs_diff": max |Δlogits|}.
Run from the conformance venv by bench/forward.ts; any side-by-side bench may reuse it.
"""
import json
import sys
import time

import numpy as np
import torch
from transformers import AutoModelForCausalLM


def main():
    path, ids_bin, logits_bin = sys.argv[1:4]
    threads, runs, batch, seq = (int(x) for x in sys.argv[4:8])
    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    ids = torch.from_numpy(np.fromfile(ids_bin, dtype=np.int64).reshape(batch, seq))
    times = []
    with torch.no_grad():
        # use_cache=False: a prefill forward alone, as the project's side measures; the first run warms up.
        out = model(input_ids=ids, use_cache=False).logits.float().numpy()
        for _ in range(runs):
            start = time.perf_counter()
            model(input_ids=ids, use_cache=False)
            times.append(time.perf_counter() - start)
    ours = np.fromfile(logits_bin, dtype=np.float32).reshape(out.shape)
    print(json.dumps({"seconds": sorted(times)[len(times) // 2], "max_abs_diff": float(np.abs(out - ours).max())}))


if __name__ == "__main__":
    main()
