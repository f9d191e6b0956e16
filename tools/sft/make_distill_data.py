"""Self-distillation data for SWA-aware fine-tuning (the paper's recipe): long-context task prompts
answered by the FULL-ATTENTION model itself, keeping only the answers judged correct.

Prompts come from the training task generators (tools/train/tasks.py: training keys, names and
haystacks, a seed of their own — never evaluation's material), rendered with the model's chat
template; the model answers greedily with full attention; an answer is correct when its text after
the last </think> holds every item of the reference answer (the needle values, the chain's names,
the room, the words). Output: JSONL lines {"messages": [...], "enable_thinking": bool, "task": ...}
for tools/sft/sft.py.

    python3 tools/sft/make_distill_data.py --model models/swaa-tiny --corpus .cache/corpus \\
        --out distill.jsonl --samples 2000 --lengths 1024,2048,4096 --seed 777
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
import data as D  # noqa: E402
import tasks as T  # noqa: E402


def answer_items(direct: str) -> list[str]:
    """The facts a correct answer must contain: numbers, VAR names, and the words after the
    answer's colon or 'in the'."""
    items = re.findall(r"\b\d{5,7}\b", direct)
    items += re.findall(r"\b[A-Z]{5}\b", direct.split("they are:")[-1]) if "they are:" in direct else []
    if "is in the" in direct:
        items.append(direct.rsplit("is in the", 1)[1].strip(" ."))
    if "most" in direct and ":" in direct:
        items += [w.strip(" .") for w in direct.rsplit(":", 1)[1].split(",") if w.strip(" .")]
    return sorted(set(items))


def final_text(text: str) -> str:
    return text.rsplit("</think>", 1)[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True, help="the training corpus folder (haystacks)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--samples", type=int, default=2000, help="prompts to try")
    ap.add_argument("--lengths", default="1024,2048,4096")
    ap.add_argument("--thinking-share", type=float, default=0.5)
    ap.add_argument("--max-new-tokens", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=777)
    a = ap.parse_args()

    import transformers
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tok = transformers.AutoTokenizer.from_pretrained(a.model)
    tok.padding_side = "left"
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16).to(device).eval()
    enc = D.Encoder(os.path.join(a.model, "tokenizer.json"))
    batcher = D.Batcher(enc, D.load_corpus(a.corpus, enc), a.seed, tokens_per_batch=1)
    rng = random.Random(a.seed)
    lengths = [int(x) for x in a.lengths.split(",")]
    user_open = enc.encode("<|im_start|>user\n")
    im_end = enc.specials["<|im_end|>"]
    prompts = []
    for i in range(a.samples):
        family = T.pick_family(rng)
        length = rng.choice(lengths)
        ids, w = batcher.task_row(length, D._seeded(a.seed, "distill", i), family=family, thinking=False)
        if not (w == D.ANSWER_WEIGHT).any():
            continue
        ids = ids.tolist()
        start = len(user_open)
        user = enc.decode(ids[start:ids.index(im_end)])
        answer_pos = np.flatnonzero(np.asarray(w) == D.ANSWER_WEIGHT) + 1
        reference = enc.decode([ids[j] for j in answer_pos]).replace("<|im_end|>", "")
        prompts.append({"task": family, "length": length, "user": user, "reference": reference,
                        "thinking": rng.random() < a.thinking_share})
    kept, start_t = 0, time.time()
    with open(a.out, "w") as f:
        for i in range(0, len(prompts), a.batch_size):
            group = prompts[i:i + a.batch_size]
            for think in (False, True):
                sub = [p for p in group if p["thinking"] == think]
                if not sub:
                    continue
                texts = [tok.apply_chat_template([{"role": "user", "content": p["user"]}], tokenize=False,
                                                 add_generation_prompt=True, enable_thinking=think) for p in sub]
                batch = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
                with torch.no_grad():
                    out = model.generate(**batch, max_new_tokens=a.max_new_tokens, do_sample=False,
                                         pad_token_id=tok.pad_token_id)
                for p, row in zip(sub, out[:, batch["input_ids"].shape[1]:]):
                    text = tok.decode(row, skip_special_tokens=True).strip()
                    items = answer_items(p["reference"])
                    if items and all(x in final_text(text) for x in items):
                        kept += 1
                        f.write(json.dumps({"messages": [{"role": "user", "content": p["user"]},
                                                         {"role": "assistant", "content": text}],
                                            "enable_thinking": think, "task": p["task"],
                                            "length": p["length"]}) + "\n")
            print(f"make_distill_data: {min(i + a.batch_size, len(prompts))}/{len(prompts)} prompts, "
                  f"{kept} kept, {time.time() - start_t:.0f} s", flush=True)
    print(f"make_distill_data: wrote {kept} of {len(prompts)} to {a.out}")


if __name__ == "__main__":
    main()
