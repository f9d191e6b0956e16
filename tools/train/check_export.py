"""Checks an exported swaa-tiny folder and writes reference data for swaa's own checks:

- the training network (export.load_exported) and, where Transformers is installed, its
  Qwen3ForCausalLM loaded from the folder give the same next-token log-probabilities (fp32);
- reference token ids from HF `tokenizers` for plain texts and for chat prompts rendered by
  Transformers' apply_chat_template (thinking on and off), to compare with `swaa tokenize`.

    python3 tools/train/check_export.py --model-dir models/swaa-tiny --out check.json
Exits non-zero when the two networks disagree by more than --tolerance nats.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export as X  # noqa: E402

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "In the beginning God created the heaven and the earth.\n\nAnd the earth was without form, and void.",
    "One of the special magic numbers for amber-otter is: 4729105. VAR QWERT = 12345.",
    "  leading spaces, tabs\tand trailing newlines\n\n\n",
    "Unicode: café, naïve, 東京, emoji 🙂, and digits 3.14159.",
    "<|im_start|>user\nhello<|im_end|>\n<think>\nok\n</think>",
]
CHATS = [
    [{"role": "user", "content": "What is the pass key?"}],
    [{"role": "system", "content": "You are brief."}, {"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "<think>\nGreeting.\n</think>\n\nHello."}, {"role": "user", "content": "Where is Bob?"}],
]


def logprobs(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    lp = torch.log_softmax(logits.double(), dim=-1)
    return lp[0, :-1].gather(-1, ids[0, 1:, None])[:, 0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens", type=int, default=256, help="length of the scored token sequence")
    ap.add_argument("--tolerance", type=float, default=2e-3)
    a = ap.parse_args()
    report: dict = {}
    torch.manual_seed(0)
    model = X.load_exported(a.model_dir).eval()
    ids = torch.randint(0, model.cfg.vocab_size, (1, a.tokens))
    tok_path = os.path.join(a.model_dir, "tokenizer.json")
    if os.path.exists(tok_path):
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(tok_path)
        text = " ".join(TEXTS) * 20
        ids = torch.tensor([tok.encode(text, add_special_tokens=False).ids[:a.tokens]])
        report["tokenizer_cases"] = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in TEXTS]
    report["tokens"] = ids[0].tolist()
    with torch.no_grad():
        ours = logprobs(model(ids), ids)
    report["logprobs_export"] = ours.tolist()
    ok = True
    try:
        import transformers
    except ImportError:
        transformers = None
    if transformers is not None:
        try:
            hf = transformers.AutoModelForCausalLM.from_pretrained(a.model_dir, dtype=torch.float32).eval()
            with torch.no_grad():
                theirs = logprobs(hf(ids).logits, ids)
            diff = (ours - theirs).abs().max().item()
            report["logprobs_transformers"] = theirs.tolist()
            report["max_abs_diff_vs_transformers"] = diff
            ok = diff <= a.tolerance
            print(f"check_export: max |Δ logprob| export vs Transformers = {diff:.2e} ({'ok' if ok else 'FAIL'})")
        except Exception as e:  # keep the rest of the report
            report["transformers_error"] = repr(e)
            print(f"check_export: Transformers could not run the export: {e!r}")
            ok = False
        if os.path.exists(tok_path):
            report["chat_cases"] = []
            try:
                t = transformers.AutoTokenizer.from_pretrained(a.model_dir)
                for msgs in CHATS:
                    for think in (True, False):
                        rendered = t.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True,
                                                         enable_thinking=think)
                        report["chat_cases"].append({"messages": msgs, "enable_thinking": think, "text": rendered,
                                                     "ids": t(rendered, add_special_tokens=False)["input_ids"]})
            except Exception as e:
                report["chat_error"] = repr(e)
                print(f"check_export: chat template check failed: {e!r}")
    with open(a.out, "w") as f:
        json.dump(report, f)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
