#!/usr/bin/env python3
"""Append the logs of a run trained elsewhere (e.g. training/gpu_train.sh on a GPU machine) to a run in the cache, so
that card.py draws one curve over every segment of a model's training.

  /usr/bin/python3 training/import_run.py sr3-x4 /path/to/unpacked/runs.tar.gz/sr3-x4 --label "H200, batch 64"

losses.jsonl and evals.jsonl entries get their step shifted by the step the segment started from (each segment counts
its steps from 0 when it starts from a weights-only checkpoint) and keep a `segment` label; log.txt is appended.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dktrain import CACHE  # noqa: E402


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("id")
    p.add_argument("source", help="the run folder from the other machine (losses.jsonl, evals.jsonl, log.txt)")
    p.add_argument("--label", required=True, help="hardware and batch of that segment, kept with every entry")
    p.add_argument("--after-step", type=int, default=None,
                   help="the step of the checkpoint the segment started from (default: the last logged step); "
                        "entries logged after it by the earlier run are dropped")
    a = p.parse_args()
    run = os.path.join(CACHE, "runs", a.id)
    os.makedirs(run, exist_ok=True)
    existing = read_jsonl(os.path.join(run, "losses.jsonl"))
    offset = a.after_step if a.after_step is not None else max((e["step"] for e in existing), default=0)
    for name in ("losses.jsonl", "evals.jsonl"):
        kept = [e for e in read_jsonl(os.path.join(run, name)) if e["step"] <= offset]
        with open(os.path.join(run, name), "w") as f:
            f.writelines(json.dumps(e) + "\n" for e in kept)
    existing = read_jsonl(os.path.join(run, "losses.jsonl"))
    wall_offset = max((e.get("wall", 0) for e in existing), default=0)
    for name in ("losses.jsonl", "evals.jsonl"):
        entries = read_jsonl(os.path.join(a.source, name))
        with open(os.path.join(run, name), "a") as f:
            for e in entries:
                e.update(step=e["step"] + offset, wall=e.get("wall", 0) + wall_offset, segment=a.label)
                f.write(json.dumps(e) + "\n")
        print(f"{a.id}: appended {len(entries)} entries of {name} after step {offset}")
    src_log = os.path.join(a.source, "log.txt")
    if os.path.exists(src_log):
        with open(os.path.join(run, "log.txt"), "a") as out, open(src_log) as src:
            out.write(f"--- imported segment: {a.label} (steps shifted by {offset}) ---\n" + src.read())


if __name__ == "__main__":
    main()
