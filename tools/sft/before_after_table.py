#!/usr/bin/env python3
"""The before/after table of tools/sft/swaa_tiny_before_after.sh: reads OUT/eval_*/results.jsonl
(swaa eval) and OUT/sft_*/sft_log.jsonl (tools/sft/sft.py), prints Markdown.

    python3 tools/sft/before_after_table.py OUT_DIR

Rows per SWAA configuration: the base model with full attention, the base model under the
configuration (no fine-tuning), then every checkpoint fine-tuned under it (named
sft_<config>_lr<lr>), evaluated under the same configuration. A second table shows the
fine-tuned checkpoints under full attention and the other configurations."""
from __future__ import annotations

import glob
import json
import os
import sys

TASKS = ["niah_single", "niah_multikey", "niah_multivalue", "niah_multiquery", "vt", "cwe", "fwe", "passkey", "babi"]


def load_eval(path: str) -> dict:
    rows = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    r = json.loads(line)
                except json.JSONDecodeError as e:
                    raise SystemExit(f"before_after_table: {path}:{n}: not JSON ({e})")
                rows[r["setting"]] = r
    return rows


def load_sft(folder: str) -> dict | None:
    log = os.path.join(folder, "sft_log.jsonl")
    if not os.path.exists(log):
        return None
    last = None
    with open(log) as f:
        for line in f:
            if line.strip():
                last = json.loads(line)
    return last


def fmt(x) -> str:
    return "" if x is None else f"{x:.1f}"


def row(label: str, setting: str, r: dict, lengths: list[str], train: str | None = None) -> str:
    by_len = [fmt(r["accuracy_by_length"].get(L, {}).get("accuracy")) for L in lengths]
    by_task = [fmt(r["accuracy_by_task"].get(t, {}).get("accuracy")) for t in TASKS]
    cells = [label, setting, f"**{r['accuracy']:.1f}**", *by_len, *by_task] + ([] if train is None else [train])
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: before_after_table.py OUT_DIR")
    out = sys.argv[1]
    base_path = os.path.join(out, "eval_base", "results.jsonl")
    if not os.path.exists(base_path):
        raise SystemExit(f"before_after_table: no {base_path} (run swaa eval on the base model first)")
    base = load_eval(base_path)
    tuned = {}
    for path in sorted(glob.glob(os.path.join(out, "eval_sft_*", "results.jsonl"))):
        name = os.path.basename(os.path.dirname(path))[len("eval_"):]
        tuned[name] = (load_eval(path), load_sft(os.path.join(out, name)))
    lengths = sorted({L for r in base.values() for L in r["accuracy_by_length"]}, key=lambda s: int(s.rstrip("k")))
    head = ["model", "eval setting", "accuracy %", *lengths, *TASKS, "fine-tuning"]
    sep = ["---", "---"] + ["---:"] * (len(head) - 3) + ["---"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(sep) + "|")

    def train_cell(log):
        if log is None:
            return ""
        return f"{log['step']} steps, {log['elapsed_s']:.0f} s, final loss {log['loss']:.3f}"

    print(row("base", "full", base["full"], lengths, "none"))
    configs = [s for s in base if s != "full"]
    for cfg in configs:
        print(row("base", cfg, base[cfg], lengths, "none"))
        for name, (res, log) in tuned.items():
            if name.startswith(f"sft_{cfg.removeprefix('swa_')}_lr") and cfg in res:
                print(row(name, cfg, res[cfg], lengths, train_cell(log)))
    print()
    print("Fine-tuned checkpoints under the other settings:")
    print()
    print("| " + " | ".join(head[:-1]) + " |")
    print("|" + "|".join(sep[:-1]) + "|")
    for name, (res, _) in tuned.items():
        for setting, r in res.items():
            if not name.startswith(f"sft_{setting.removeprefix('swa_')}_lr"):
                print(row(name, setting, r, lengths))


if __name__ == "__main__":
    main()
