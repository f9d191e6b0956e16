"""Produces the tokenizer and chat-template fixtures under tests/data/tokenizer/ from Hugging Face
`tokenizers` and Transformers (run on the GPU machine, which has them; see docs/tokenizer.md).

  python3 tools/tokenizer_reference/make_fixtures.py --tokenizers .cache/npm-tokenizers --out DIR [--bench]

Writes DIR/corpus.json, DIR/encode_<name>.json (qwen3, llama3, llama2), DIR/chat.json and, with
--bench, DIR/bench_hf.json (single-thread encode throughput of `tokenizers` on corpus.bench_text()).
"""
import argparse
import hashlib
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conversations  # noqa: E402
import corpus  # noqa: E402
import jinja_oracle  # noqa: E402

NAMES = ["qwen3", "llama3", "llama2"]
TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/data/tokenizer/templates")


def dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))


def encode_fixture(tok, strings, seed):
    ids = [tok.encode(s, add_special_tokens=False).ids for s in strings]
    with_special = [tok.encode(s, add_special_tokens=True).ids for s in strings[:64]]
    decoded = [tok.decode(i, skip_special_tokens=False) for i in ids]
    skipped = [tok.decode(i, skip_special_tokens=True) for i in ids]
    rng = random.Random(seed)
    vocab = tok.get_vocab_size(with_added_tokens=True)
    rand = []
    for _ in range(300):
        r = [rng.randrange(vocab) for _ in range(rng.randrange(1, 24))]
        rand.append({"ids": r, "text": tok.decode(r, skip_special_tokens=False),
                     "text_skip": tok.decode(r, skip_special_tokens=True)})
    return {
        "ids": ids,
        "ids_with_special_first64": with_special,
        # null where equal to the input string (keeps the file small)
        "decode": [None if d == s else d for d, s in zip(decoded, strings)],
        "decode_skip_special": [None if k == d else k for k, d in zip(skipped, decoded)],
        "random_decode": rand,
    }


def chat_fixture(tok_dirs, fast):
    from transformers import AutoTokenizer
    templates = {}
    for name in NAMES:
        cfg = json.load(open(os.path.join(tok_dirs[name], "tokenizer_config.json"), encoding="utf-8"))
        if isinstance(cfg.get("chat_template"), str):
            templates[name] = cfg["chat_template"]
    for fn in sorted(os.listdir(TEMPLATE_DIR)):
        templates[fn[:-len(".jinja")]] = open(os.path.join(TEMPLATE_DIR, fn), encoding="utf-8").read()
    hf = {name: AutoTokenizer.from_pretrained(tok_dirs[name]) for name in NAMES}
    out, agree, errors = [], 0, 0
    for tname, tokname, ci, tools, agp, extra in conversations.cases():
        msgs = conversations.CONVERSATIONS[ci]
        t = hf[tokname]
        case = {"template": tname, "tokenizer": tokname, "conversation": ci, "tools": tools is not None,
                "add_generation_prompt": agp, "kwargs": extra}
        try:
            text = t.apply_chat_template(msgs, tools=tools, add_generation_prompt=agp, tokenize=False,
                                         chat_template=templates[tname], **extra)
            case["text"] = text
            case["ids"] = fast[tokname].encode(text, add_special_tokens=False).ids
        except Exception as e:
            case["error"] = f"{type(e).__name__}: {e}"
            errors += 1
        # the same context swaa builds: special tokens of tokenizer_config + messages + kwargs
        ctx = {"messages": msgs, "tools": tools, "documents": None, "add_generation_prompt": agp,
               "bos_token": t.bos_token, "eos_token": t.eos_token, "unk_token": t.unk_token,
               "pad_token": t.pad_token, **extra}
        try:
            o = {"text": jinja_oracle.render(templates[tname], ctx)}
        except Exception as e:
            o = {"error": str(e)}
        if o.get("text") == case.get("text") and ("error" in o) == ("error" in case):
            agree += 1
        else:
            case["oracle"] = o
        out.append(case)
    print(f"chat: {len(out)} cases, {errors} errors, oracle agrees on {agree}", flush=True)
    return {"templates": templates, "conversations": conversations.CONVERSATIONS,
            "tools": conversations.TOOLS, "cases": out}


def bench(fast, text):
    lines = text.split("\n")
    res = {"bytes": len(text.encode("utf-8")), "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
           "unit": "MB/s = 1e6 bytes/s, tokenizers.Tokenizer.encode per line, add_special_tokens=False"}
    for name, tok in fast.items():
        tok.encode("warm up", add_special_tokens=False)
        t0 = time.perf_counter()
        n = 0
        for line in lines:
            n += len(tok.encode(line, add_special_tokens=False).ids)
        dt = time.perf_counter() - t0
        res[name] = {"seconds": dt, "mb_per_s": res["bytes"] / dt / 1e6, "tokens": n}
        print(f"bench {name}: {res[name]}", flush=True)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizers", default=".cache/npm-tokenizers")
    ap.add_argument("--out", required=True)
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--write-bench-text", help="only write corpus.bench_text() to this path")
    ap.add_argument("--bench-only", action="store_true", help="only write DIR/bench_hf.json")
    a = ap.parse_args()
    if a.write_bench_text:
        open(a.write_bench_text, "w", encoding="utf-8").write(corpus.bench_text())
        return
    import tokenizers
    os.makedirs(a.out, exist_ok=True)
    tok_dirs = {n: os.path.join(a.tokenizers, n) for n in NAMES}
    fast = {n: tokenizers.Tokenizer.from_file(os.path.join(tok_dirs[n], "tokenizer.json")) for n in NAMES}
    if a.bench_only:
        dump(os.path.join(a.out, "bench_hf.json"), bench(fast, corpus.bench_text()))
        return
    strings = corpus.corpus()
    import transformers
    meta = {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
            "python": sys.version.split()[0]}
    print(meta, flush=True)
    dump(os.path.join(a.out, "corpus.json"), {"meta": meta, "strings": strings})
    for i, n in enumerate(NAMES):
        t0 = time.perf_counter()
        dump(os.path.join(a.out, f"encode_{n}.json"), encode_fixture(fast[n], strings, seed=100 + i))
        print(f"encode {n}: {time.perf_counter() - t0:.1f}s", flush=True)
    dump(os.path.join(a.out, "chat.json"), chat_fixture(tok_dirs, fast))
    if a.bench:
        dump(os.path.join(a.out, "bench_hf.json"), bench(fast, corpus.bench_text()))


if __name__ == "__main__":
    main()
