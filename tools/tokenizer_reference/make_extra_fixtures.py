"""Second batch of Hugging Face reference data (run on the GPU machine, like make_fixtures.py):

  python3 tools/tokenizer_reference/make_extra_fixtures.py --tokenizers .cache/npm-tokenizers --out DIR

* DIR/encode_variants.json: the Llama 2 tokenizer with extra added tokens (lstrip, rstrip,
  single_word, normalized, special) and with a Metaspace pre-tokenizer/decoder instead of its
  Prepend/Replace normalizer; for each variant the JSON fields to patch and the ids/decodes of a
  set of strings.
* DIR/unicode_classes.json: which code points Hugging Face's regex engine (Oniguruma) puts in
  \\p{L}, \\p{N} and \\s, as ranges, so swaa's PCRE2 tables can be checked against it.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

FLAG_STRINGS = [
    "a <ls> b", "a   <ls>b", "<ls>", "x<rs>   y", "<rs>\n\nz", "say hello world", "sayhello world",
    "hello_there hello", "(hello)", "héllo hello", "e\u0301cole école", "<sp>", "  <sp>  x", "a<sp>b",
    "<ls><rs><ls>", " <rs> <ls> ", "hello<s>hello</s>", "tab\t<ls>\tTab", "ünïcode <ls> 漢字 <rs> 漢字",
    "HELLO hello Hello", "hello-hello", "hello.hello", "x hello\u3000", "\u3000<ls>", "<ls>\u00a0",
]


def variants(base):
    added = [
        {"content": "<ls>", "lstrip": True, "rstrip": False, "single_word": False, "normalized": False, "special": False},
        {"content": "<rs>", "lstrip": False, "rstrip": True, "single_word": False, "normalized": False, "special": False},
        {"content": "hello", "lstrip": False, "rstrip": False, "single_word": True, "normalized": False, "special": False},
        {"content": "école", "lstrip": False, "rstrip": False, "single_word": False, "normalized": True, "special": False},
        {"content": "<sp>", "lstrip": True, "rstrip": True, "single_word": False, "normalized": False, "special": True},
    ]
    meta_first = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}
    meta_always = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": False}
    return {
        "llama2_added": {"added": added},
        "llama2_metaspace_first": {"added": added, "normalizer": None, "pre_tokenizer": meta_first,
                                   "decoder": dict(meta_first)},
        "llama2_metaspace_always": {"added": [], "normalizer": None, "pre_tokenizer": meta_always,
                                    "decoder": dict(meta_always)},
    }


def build(base_json, spec):
    from tokenizers import AddedToken, Tokenizer
    j = json.loads(base_json)
    for key in ("normalizer", "pre_tokenizer", "decoder"):
        if key in spec:
            j[key] = spec[key]
    tok = Tokenizer.from_str(json.dumps(j))
    for a in spec["added"]:
        t = AddedToken(a["content"], single_word=a["single_word"], lstrip=a["lstrip"], rstrip=a["rstrip"],
                       normalized=a["normalized"], special=a["special"])
        (tok.add_special_tokens if a["special"] else tok.add_tokens)([t])
    return tok


def unicode_classes():
    from tokenizers import Regex, pre_tokenizers
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    text = "".join(chr(c) for c in cps)
    out = {}
    for name, cls in (("L", r"\p{L}"), ("N", r"\p{N}"), ("s", r"\s")):
        iso = pre_tokenizers.Split(Regex(f"(?:{cls})+"), behavior="isolated")
        rem = pre_tokenizers.Split(Regex(cls), behavior="removed")
        pieces = [p for p, _ in iso.pre_tokenize_str(text)]
        matched = len(rem.pre_tokenize_str(text[0])) == 0
        ranges, idx = [], 0
        for p in pieces:
            n = len(p)
            if matched:
                ranges.append([cps[idx], cps[idx + n - 1]])
            idx += n
            matched = not matched
        assert idx == len(cps), (name, idx, len(cps))
        # merge ranges split by the surrogate gap
        merged = []
        for a, b in ranges:
            if merged and merged[-1][1] + 1 == a:
                merged[-1][1] = b
            else:
                merged.append([a, b])
        out[name] = merged
        print(f"unicode {name}: {sum(b - a + 1 for a, b in merged)} code points in {len(merged)} ranges", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizers", default=".cache/npm-tokenizers")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    base_json = open(os.path.join(a.tokenizers, "llama2", "tokenizer.json"), encoding="utf-8").read()
    strings = FLAG_STRINGS + corpus.corpus()[:400:2]
    res = {"strings": strings, "variants": {}}
    for name, spec in variants(base_json).items():
        tok = build(base_json, spec)
        full = json.loads(tok.to_str())
        ids = [tok.encode(s, add_special_tokens=False).ids for s in strings]
        dec = [tok.decode(i, skip_special_tokens=False) for i in ids]
        skip = [tok.decode(i, skip_special_tokens=True) for i in ids]
        res["variants"][name] = {
            "patch": {k: full[k] for k in ("normalizer", "pre_tokenizer", "decoder", "added_tokens")},
            "ids": ids,
            # null where equal to the input string / to decode (keeps the file small)
            "decode": [None if d == s else d for d, s in zip(dec, strings)],
            "decode_skip_special": [None if k == d else k for k, d in zip(skip, dec)],
        }
        print(f"variant {name}: done", flush=True)
    with open(os.path.join(a.out, "encode_variants.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(a.out, "unicode_classes.json"), "w", encoding="utf-8") as f:
        json.dump(unicode_classes(), f, separators=(",", ":"))


if __name__ == "__main__":
    main()
