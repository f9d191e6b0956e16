"""SWA-aware LoRA fine-tuning (the paper's recipe as defaults): the model attends with exactly the
inference mask (SWAA.md §4: prompt rows under sinks ∪ window, answer rows under the generated-token
rule) through swaa.hf, loss on the assistant's tokens only, then the adapter is merged into a
checkpoint swaa loads.

    python3 tools/sft/sft.py --model models/swaa-tiny --data distill.jsonl --out /tmp/sft \\
        --swaa-config '{"sliding_window_size": 512, "keep_first": 16, "force_fa_decode": true}'

Data: JSONL, one conversation per line: {"messages": [{"role": ..., "content": ...}, ...]} whose
last message is the assistant's answer (or {"prompt": ..., "answer": ...}); optional
"enable_thinking" per line. Defaults: LoRA r 16, alpha 32, rsLoRA, q/k/v projections, lr 1e-4,
linear schedule with 5% warm-up, 1 epoch, batch 8. Every knob is a flag.

More GPUs: launch with torchrun (data parallel over NCCL; --batch-size is per GPU, the global
batch is batch size x GPUs; rank 0 logs and saves):

    torchrun --nproc-per-node 8 tools/sft/sft.py --model ... --data ... --out ... --swaa-config ...
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import swaa.hf  # noqa: E402
from swaa import SWAAConfig  # noqa: E402

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json",
                   "chat_template.jinja", "vocab.json", "merges.txt", "tokenizer.model")


def load_examples(path: str, tok, max_len: int):
    """(input_ids, prompt_len) per line; the prompt is the chat template up to the generation
    prompt, the answer is the last message plus the end-of-turn token."""
    out, skipped = [], 0
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"sft: {path}:{n}: not JSON ({e})")
            if "messages" in d:
                msgs = d["messages"]
                if not msgs or msgs[-1].get("role") != "assistant":
                    raise SystemExit(f"sft: {path}:{n}: the last message must be the assistant's answer")
                context, answer = msgs[:-1], msgs[-1]["content"]
            elif "prompt" in d and "answer" in d:
                context, answer = [{"role": "user", "content": d["prompt"]}], d["answer"]
            else:
                raise SystemExit(f"sft: {path}:{n}: needs \"messages\" or \"prompt\" and \"answer\"")
            kw = {"enable_thinking": d["enable_thinking"]} if "enable_thinking" in d else {}
            prompt = tok.apply_chat_template(context, tokenize=False, add_generation_prompt=True, **kw)
            p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
            a_ids = tok(answer + (tok.eos_token or ""), add_special_tokens=False)["input_ids"]
            ids = p_ids + a_ids
            if len(ids) > max_len:
                skipped += 1
                continue
            out.append((ids, len(p_ids)))
    if skipped:
        print(f"sft: skipped {skipped} examples longer than --max-len {max_len}", flush=True)
    if not out:
        raise SystemExit(f"sft: no usable examples in {path}")
    return out


def batches(examples, batch_size: int, pad_id: int, rng: random.Random, device, rank: int = 0, world: int = 1):
    """One epoch of padded batches for this rank. Every rank draws the same order (same seed) and
    takes its slice of each global batch of batch_size x world examples; with several ranks the last
    global batch is filled up from the start of the order, so that no rank runs out first."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    step = batch_size * world
    if world > 1 and len(order) % step:
        order += order[:step - len(order) % step]
    for i in range(0, len(order), step):
        chunk = [examples[j] for j in order[i:i + step][rank * batch_size:(rank + 1) * batch_size]]
        t = max(len(ids) for ids, _ in chunk)
        ids = torch.full((len(chunk), t), pad_id, dtype=torch.long)
        labels = torch.full((len(chunk), t), -100, dtype=torch.long)
        mask = torch.zeros((len(chunk), t), dtype=torch.long)
        prompt = torch.zeros(len(chunk), dtype=torch.long)
        for r, (x, p) in enumerate(chunk):
            ids[r, :len(x)] = torch.tensor(x)
            labels[r, p:len(x)] = torch.tensor(x[p:])
            mask[r, :len(x)] = 1
            prompt[r] = p
        yield ids.to(device), labels.to(device), mask.to(device), prompt.to(device)


def setup_distributed():
    """(rank, world size, device) from torchrun's environment; a single process without it."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise SystemExit(f"sft: WORLD_SIZE={world} needs CUDA devices (NCCL)")
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", os.environ["RANK"]))
    torch.cuda.set_device(local)
    torch.distributed.init_process_group("nccl")
    return rank, world, f"cuda:{local}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="Hugging Face checkpoint folder")
    ap.add_argument("--data", required=True, help="training JSONL")
    ap.add_argument("--out", required=True, help="folder for the merged checkpoint (and adapter/)")
    ap.add_argument("--swaa-config", required=True, help="JSON text or file with the four SWAA fields")
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--lora-alpha", type=int, default=32)
    ap.add_argument("--no-rslora", action="store_true")
    ap.add_argument("--lora-dropout", type=float, default=0.0)
    ap.add_argument("--target-modules", default="q_proj,k_proj,v_proj")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=float, default=0.05, help="share of steps warming up (then linear decay)")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=8, help="examples per step (per GPU under torchrun)")
    ap.add_argument("--max-len", type=int, default=8192)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", default="auto", choices=["auto", "sdpa", "flex", "cuda"])
    ap.add_argument("--no-merge", action="store_true", help="save the adapter only")
    a = ap.parse_args()

    import peft
    import transformers

    rank, world, device = setup_distributed()
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    cfg = SWAAConfig.from_json(a.swaa_config)
    tok = transformers.AutoTokenizer.from_pretrained(a.model)
    examples = load_examples(a.data, tok, a.max_len)
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16).to(device)
    swaa.hf.apply(model, cfg, backend=a.backend)
    lora = peft.LoraConfig(r=a.lora_r, lora_alpha=a.lora_alpha, use_rslora=not a.no_rslora,
                           lora_dropout=a.lora_dropout, target_modules=a.target_modules.split(","),
                           task_type="CAUSAL_LM")
    model = peft.get_peft_model(model, lora)
    if rank == 0:
        model.print_trainable_parameters()
    peft_model = model
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[torch.cuda.current_device()])
    steps = max(1, math.ceil(len(examples) / (a.batch_size * world) * a.epochs))
    warm = max(1, int(steps * a.warmup))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=a.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / max(1, steps - warm)))
    log = None
    if rank == 0:
        os.makedirs(a.out, exist_ok=True)
        log = open(os.path.join(a.out, "sft_log.jsonl"), "w")
    model.train()
    step, start = 0, time.time()
    while step < steps:
        for ids, labels, mask, prompt in batches(examples, a.batch_size, pad_id, rng, device, rank, world):
            out = model(input_ids=ids, attention_mask=mask, labels=labels, swaa_prompt_lens=prompt)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            loss = out.loss.detach()
            if world > 1:
                torch.distributed.all_reduce(loss)
                loss /= world
            rec = {"step": step, "of": steps, "loss": round(loss.item(), 4), "lr": sched.get_last_lr()[0],
                   "elapsed_s": round(time.time() - start, 1)}
            if log is not None:
                log.write(json.dumps(rec) + "\n")
                if step % 10 == 0 or step == steps:
                    print(json.dumps(rec), flush=True)
            if step >= steps:
                break
    if rank == 0:
        peft_model.save_pretrained(os.path.join(a.out, "adapter"))
        if not a.no_merge:
            merged = peft_model.merge_and_unload()
            merged.set_attn_implementation("sdpa") if hasattr(merged, "set_attn_implementation") else None
            merged.save_pretrained(a.out, safe_serialization=True)
            for name in TOKENIZER_FILES:
                src = os.path.join(a.model, name)
                if os.path.exists(src):
                    shutil.copy(src, os.path.join(a.out, name))
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    if rank != 0:
        return
    print(f"sft: {step} steps, {len(examples)} examples, {world} GPU(s), {time.time() - start:.0f} s; wrote {a.out}",
          flush=True)


if __name__ == "__main__":
    main()
