"""Trains swaa-tiny's byte-level BPE tokenizer with Hugging Face `tokenizers` and writes
tokenizer.json, tokenizer_config.json (ChatML template with <think> support) and
generation_config.json into a model directory.

The pre-tokenizer is Qwen2/Qwen3's: a Split on the same regex (letters, numbers one digit at a
time, punctuation, the `\\s+(?!\\S)` lookahead) then ByteLevel without its own regex; NFC normalizer.

    python3 tools/train/tokenizer_train.py --corpus .cache/corpus --out models/swaa-tiny --vocab 12288
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import random
import sys

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Added, not special: kept by decode(skip_special_tokens=True), as Qwen3 treats them.
THINK_TOKENS = ["<think>", "</think>"]

QWEN_SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# ChatML. Earlier assistant turns lose their reasoning; `enable_thinking=false` pre-fills an empty
# think block, as Qwen3's template does.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message.role == 'assistant' -%}"
    "{%- set content = message.content -%}"
    "{%- if '</think>' in content -%}{%- set content = content.split('</think>')[-1].lstrip('\\n') -%}{%- endif -%}"
    "{{- '<|im_start|>assistant\\n' + content + '<|im_end|>\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}{{- '<think>\\n\\n</think>\\n\\n' -}}{%- endif -%}"
    "{%- endif -%}"
)


def corpus_files(corpus_dir: str) -> list[str]:
    files = sorted(glob.glob(os.path.join(corpus_dir, "*.txt")))
    if not files:
        raise SystemExit(f"tokenizer_train: no *.txt files in {corpus_dir}")
    return files


def training_text(files: list[str], max_bytes: int, seed: int):
    """Paragraphs from every file, shuffled, up to max_bytes in total (the whole corpus when 0)."""
    paragraphs = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            for p in f.read().split("\n\n"):
                # Line-per-entry files (WordNet) have no blank lines: their lines are the units.
                paragraphs.extend(p.split("\n") if len(p) > 100000 else [p] if p.strip() else [])
    random.Random(seed).shuffle(paragraphs)
    total = 0
    for p in paragraphs:
        if max_bytes and total > max_bytes:
            return
        total += len(p)
        yield p


def extra_training_text(seed: int, n: int = 20000):
    """Task-style lines (digits, variable names, chat markers) so the merges cover them too."""
    rng = random.Random(seed)
    for _ in range(n):
        yield (f"One of the special magic numbers for the value is: {rng.randint(1000000, 9999999)}. "
               f"VAR {''.join(rng.choice('ABCDEFGHIJKLMNOPQRSTUVWXYZ') for _ in range(5))} = {rng.randint(10000, 99999)}.")


def train(corpus_dir: str, out_dir: str, vocab: int, max_bytes: int, seed: int) -> None:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_SPLIT_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab - len(THINK_TOKENS),
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    files = corpus_files(corpus_dir)

    def text():
        yield from training_text(files, max_bytes, seed)
        yield from extra_training_text(seed)

    tok.train_from_iterator(text(), trainer=trainer)
    tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in THINK_TOKENS])
    if tok.get_vocab_size() != vocab:
        print(f"tokenizer_train: vocabulary is {tok.get_vocab_size()}, asked for {vocab}", file=sys.stderr)
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    write_configs(out_dir, tok)


def write_configs(out_dir: str, tok) -> None:
    eos = tok.token_to_id("<|im_end|>")
    pad = tok.token_to_id("<|endoftext|>")
    added = {}
    for name in SPECIAL_TOKENS + THINK_TOKENS:
        added[str(tok.token_to_id(name))] = {
            "content": name, "lstrip": False, "normalized": False, "rstrip": False,
            "single_word": False, "special": name in SPECIAL_TOKENS,
        }
    config = {
        "added_tokens_decoder": added,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "add_bos_token": False,
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "errors": "replace",
        "model_max_length": 8192,
        "split_special_tokens": False,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": CHAT_TEMPLATE,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    gen = {"bos_token_id": pad, "eos_token_id": [eos, pad], "pad_token_id": pad,
           "do_sample": False, "temperature": 1.0}
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
        f.write("\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="folder of cleaned *.txt files (fetch_corpus.sh)")
    ap.add_argument("--out", required=True, help="model folder to write the tokenizer files into")
    ap.add_argument("--vocab", type=int, default=12288)
    ap.add_argument("--max-bytes", type=int, default=0, help="train on at most this much text (0: all)")
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    train(a.corpus, a.out, a.vocab, a.max_bytes, a.seed)


if __name__ == "__main__":
    main()
