"""Trains swaa-tiny from scratch (full attention, up to 8k context) on natural text mixed with
synthetic long-context chat tasks, bounded by a wall-clock budget, resumable, logging loss and
tokens/s; exports a Hugging Face checkpoint folder at the end.

    python3 tools/train/train.py --corpus .cache/corpus --model-dir models/swaa-tiny \\
        --work-dir .cache/train --total-tokens 400e6 --time-budget-s 540

The learning-rate schedule (warm-up, then cosine to 10%) follows tokens against --total-tokens, so a
run split into several bounded calls (--resume) follows the same curve as one long run.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data as D  # noqa: E402
import export as X  # noqa: E402
from model import TinyConfig, TinyQwen3  # noqa: E402


class BatchStream(torch.utils.data.IterableDataset):
    """Batches start, start+1, ... built by worker processes (batch i by worker i % workers)."""

    def __init__(self, batcher: D.Batcher, start: int):
        self.batcher, self.start = batcher, start

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        i = self.start + wid
        while True:
            ids, w = self.batcher.batch(i)
            yield i, torch.from_numpy(ids), torch.from_numpy(w)
            i += nw


def probe(model, rows, device, amp) -> dict:
    """Share of probe rows solved per task family (data.Batcher.probe_rows), by length too."""
    model.eval()
    solved: dict[str, list[int]] = {}
    with torch.no_grad(), amp:
        for family, length, ids, w in rows:
            x = torch.from_numpy(ids[None]).to(device)
            pred = model(x[:, :-1])[0].argmax(-1)
            mask = torch.from_numpy(w == D.ANSWER_WEIGHT).to(device)
            ok = int(bool((pred[mask] == x[0, 1:][mask]).all()))
            for key in (family, f"{length}"):
                solved.setdefault(key, [0, 0])
                solved[key][0] += ok
                solved[key][1] += 1
    model.train()
    return {k: round(a / b, 3) for k, (a, b) in solved.items()}


def lr_at(progress: float, a) -> float:
    """Linear warm-up over the first --warmup share of the run, then cosine down to 10%."""
    if progress < a.warmup:
        return a.lr * max(progress, 1e-3) / a.warmup
    p = min(1.0, (progress - a.warmup) / (1.0 - a.warmup))
    return a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="folder of cleaned *.txt files")
    ap.add_argument("--model-dir", required=True, help="holds tokenizer.json; config.json and weights go here")
    ap.add_argument("--work-dir", required=True, help="checkpoint (ckpt.pt) and log (train_log.jsonl)")
    ap.add_argument("--total-tokens", type=float, default=400e6, help="planned length of the whole run")
    ap.add_argument("--time-budget-s", type=float, default=540, help="stop, save and export after this long")
    ap.add_argument("--max-steps", type=int, default=0, help="also stop after this many steps (0: no limit)")
    ap.add_argument("--tokens-per-batch", type=int, default=131072)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=float, default=0.03, help="share of the run spent warming up")
    ap.add_argument("--schedule", choices=["tokens", "time"], default="tokens",
                    help="progress of the learning-rate schedule: tokens / --total-tokens, or training "
                         "time / --time-budget-s (for a single bounded run)")
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--task-share", type=float, default=0.6, help="share of rows that are chat tasks")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--resume", action="store_true", help="continue from work-dir/ckpt.pt")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--small", action="store_true", help="a tiny network for CPU smoke tests")
    ap.add_argument("--length-mix", default="", help="e.g. 512:1,1024:1 (default: data.LENGTH_MIX)")
    ap.add_argument("--probe-every-s", type=float, default=120,
                    help="every this many seconds (and at the end) log the share of fixed probe task rows "
                         "whose answer greedy decoding reproduces exactly (0: never)")
    ap.add_argument("--probe-lengths", default="1024,4096")
    ap.add_argument("--probe-per-cell", type=int, default=4, help="probe rows per task family and length")
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    os.makedirs(a.work_dir, exist_ok=True)
    tok_path = os.path.join(a.model_dir, "tokenizer.json")
    enc = D.Encoder(tok_path if os.path.exists(tok_path) else None)
    if enc.hf is None:
        print(f"train: {tok_path} missing; using the byte-level stand-in (smoke test only)", file=sys.stderr)
    t0 = time.time()
    corpus = D.load_corpus(a.corpus, enc)
    print(f"train: corpus {len(corpus) / 1e6:.2f}M tokens ({time.time() - t0:.1f} s)", flush=True)
    mix = {int(k): float(v) for k, v in (x.split(":") for x in a.length_mix.split(","))} if a.length_mix else None
    batcher = D.Batcher(enc, corpus, a.seed, a.tokens_per_batch, a.task_share, mix)

    probe_rows = (batcher.probe_rows(list(D.T.FAMILY_WEIGHTS), [int(x) for x in a.probe_lengths.split(",")],
                                     a.probe_per_cell) if a.probe_every_s > 0 else [])
    cfg = TinyConfig(vocab_size=enc.vocab_size,
                     bos_token_id=enc.specials["<|endoftext|>"], eos_token_id=enc.specials["<|im_end|>"])
    if a.small:
        cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers = 64, 128, 2
        cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim = 2, 1, 32
    model = TinyQwen3(cfg).to(a.device)
    print(f"train: {cfg.num_parameters() / 1e6:.2f}M parameters, {json.dumps(cfg.hf_config())}", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.95), eps=1e-8,
                            **({"fused": True} if a.device == "cuda" else {}))
    step, tokens, train_s = 0, 0.0, 0.0
    ckpt_path = os.path.join(a.work_dir, "ckpt.pt")
    if a.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=a.device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optim"])
        step, tokens, train_s = ck["step"], ck["tokens"], ck.get("train_s", 0.0)
        print(f"train: resumed at step {step}, {tokens / 1e6:.1f}M tokens", flush=True)
    fwd = torch.compile(model.loss) if a.compile else model.loss

    stream = BatchStream(batcher, step)
    extra = {"prefetch_factor": 4} if a.workers else {}
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=a.workers,
                                         pin_memory=a.device == "cuda", **extra)
    log = open(os.path.join(a.work_dir, "train_log.jsonl"), "a")
    first_step = step
    start = last_save = window_t = last_probe = time.time()
    window_tokens = 0
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if a.device == "cuda" else torch.autocast("cpu", enabled=False)
    for index, ids, w in loader:
        assert index == step, (index, step)
        if step == first_step:  # the clock starts with the first batch (workers take a while to start)
            start = last_save = window_t = last_probe = time.time()
        ids = ids.to(a.device, non_blocking=True)
        w = w.to(a.device, non_blocking=True)
        elapsed = train_s + time.time() - start
        progress = elapsed / a.time_budget_s if a.schedule == "time" else tokens / a.total_tokens
        lr = lr_at(progress, a)
        for g in opt.param_groups:
            g["lr"] = lr
        with amp:
            loss_sum, w_sum = fwd(ids[:, :-1], ids[:, 1:], w)
        loss = loss_sum / w_sum.clamp(min=1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        n_tok = ids.shape[0] * (ids.shape[1] - 1)
        tokens += n_tok
        window_tokens += n_tok
        now = time.time()
        if step % 10 == 0 or step == 1:
            rate = window_tokens / max(1e-9, now - window_t)
            rec = {"step": step, "tokens": tokens, "seq_len": ids.shape[1] - 1, "loss": round(loss.item(), 4),
                   "grad_norm": round(float(gnorm), 3), "lr": lr, "tokens_per_s": round(rate),
                   "elapsed_s": round(train_s + now - start, 1)}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(json.dumps(rec), flush=True)
            window_tokens, window_t = 0, now
        # --schedule time: the budget is the whole run's training time (resumed calls add up).
        over_time = (train_s + now - start if a.schedule == "time" else now - start) > a.time_budget_s
        done = (over_time or bool(a.max_steps and step >= a.max_steps)
                or (a.schedule == "tokens" and tokens >= a.total_tokens))
        if probe_rows and (done or now - last_probe > a.probe_every_s):
            rec = {"step": step, "tokens": tokens, "probe": probe(model, probe_rows, a.device, amp)}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(json.dumps(rec), flush=True)
            last_probe = time.time()
        if done or now - last_save > 300:
            torch.save({"model": model.state_dict(), "optim": opt.state_dict(), "step": step, "tokens": tokens,
                        "train_s": train_s + now - start, "args": vars(a)}, ckpt_path + ".tmp")
            os.replace(ckpt_path + ".tmp", ckpt_path)
            last_save = now
        if done:
            break
    path = X.export(model, a.model_dir)
    print(f"train: step {step}, {tokens / 1e6:.1f}M tokens, {train_s + time.time() - start:.0f} s of training; "
          f"exported {path} ({os.path.getsize(path) / 1e6:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
