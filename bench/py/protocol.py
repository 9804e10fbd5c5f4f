"""The line protocol between a bench (bench/python.ts, PythonSide) and its PyTorch side, so the two
sides' runs can alternate in one bench run and see the same machine load.

A script calls serve(setup). setup() loads what it needs and returns (run, finish):
  run()    -> one measurement in milliseconds (a forward, a training step, a calibration pass)
  finish() -> a dict of final results (differences against the project's outputs, peak RSS, ...)
Protocol (one JSON object per line):
  script -> {"ready": true, ...setup facts}      after setup
  bench  -> {"op": "run", "n": N}                 script -> {"ms": [N measurements]}
  bench  -> {"op": "finish"}                      script -> finish()'s dict, then exits
A Python exception exits non-zero with the traceback on stderr; the bench reports it as a failure line.
"""
import json
import resource
import sys


def peak_rss_bytes():
    """Peak resident set size of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def serve(setup, **facts):
    run, finish = setup()
    out = sys.stdout
    out.write(json.dumps({"ready": True, **facts}) + "\n")
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        if cmd.get("op") == "run":
            ms = [run() for _ in range(int(cmd.get("n", 1)))]
            out.write(json.dumps({"ms": ms}) + "\n")
        elif cmd.get("op") == "finish":
            out.write(json.dumps(finish()) + "\n")
            out.flush()
            return
        else:
            raise ValueError(f"unknown command {line!r}")
        out.flush()
