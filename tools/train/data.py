"""Training batches for swaa-tiny: natural text (language-model rows) and synthetic long-context
tasks in ChatML (tasks.py), every row exactly `length + 1` tokens, with a per-target loss weight.

A batch is a pure function of (seed, batch index): training resumes mid-stream and the same seed
gives the same data. Haystacks are cut from the tokenized corpus at sentence ends and needles
are inserted as separately encoded sentences at sentence boundaries, where the byte-level
pre-tokenizer splits anyway, so the tokens equal those of encoding the whole rendered prompt
(up to the rare merge across a boundary).
"""
from __future__ import annotations

import glob
import hashlib
import os
import random

import numpy as np

import tasks as T

ANSWER_WEIGHT = 3.0   # assistant tokens (the retrieval signal) weigh more than haystack text
THINKING_SHARE = 0.5  # task rows answered with a <think> block (the rest: thinking off)
# Row lengths and how often a batch uses each: most compute goes to long contexts.
LENGTH_MIX = {512: 0.1, 1024: 0.15, 2048: 0.2, 4096: 0.25, 8192: 0.3}
# Files used only in part (bytes): WordNet's glosses are definitions, not running prose.
CORPUS_CAPS = {"wordnet-glosses.txt": 3_000_000}


class Encoder:
    """HF `tokenizers` when present; a byte-level stand-in (ids = bytes, specials after) for CPU
    smoke tests on machines without it."""

    def __init__(self, tokenizer_json: str | None):
        self.hf = None
        if tokenizer_json is not None:
            from tokenizers import Tokenizer
            self.hf = Tokenizer.from_file(tokenizer_json)
            self.vocab_size = self.hf.get_vocab_size()
            self.specials = {t: self.hf.token_to_id(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>",
                                                                   "<think>", "</think>")}
        else:
            names = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
            self.specials = {t: 256 + i for i, t in enumerate(names)}
            self.vocab_size = 256 + len(names)

    def encode(self, text: str) -> list[int]:
        if self.hf is not None:
            return self.hf.encode(text, add_special_tokens=False).ids
        out: list[int] = []
        i = 0
        while i < len(text):
            for name, tid in self.specials.items():
                if text.startswith(name, i):
                    out.append(tid)
                    i += len(name)
                    break
            else:
                out.extend(text[i].encode("utf-8"))
                i += 1
        return out

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        if self.hf is not None:
            return [e.ids for e in self.hf.encode_batch(texts, add_special_tokens=False)]
        return [self.encode(t) for t in texts]

    def decode(self, ids) -> str:
        if self.hf is not None:
            return self.hf.decode(list(map(int, ids)), skip_special_tokens=False)
        inv = {v: k for k, v in self.specials.items()}
        out, buf = [], bytearray()
        for i in ids:
            i = int(i)
            if i in inv:
                out.append(buf.decode("utf-8", "replace"))
                buf = bytearray()
                out.append(inv[i])
            else:
                buf.append(i)
        out.append(buf.decode("utf-8", "replace"))
        return "".join(out)

    def sentence_end_table(self) -> np.ndarray:
        """ends[id]: the token's text, trailing whitespace removed, ends a sentence."""
        ends = np.zeros(self.vocab_size, dtype=bool)
        for i in range(self.vocab_size):
            s = self.decode([i]).rstrip()
            ends[i] = s.endswith((".", "!", "?", '."', ".'", "?\"", "!\""))
        return ends


def load_corpus(corpus_dir: str, enc: Encoder, chunk_bytes: int = 1 << 16) -> np.ndarray:
    """All *.txt files as one token array. Files are split at paragraph ends (the blank line kept
    with the chunk before), where pre-tokens end, and the chunks encoded in parallel."""
    files = sorted(glob.glob(os.path.join(corpus_dir, "*.txt")))
    if not files:
        raise SystemExit(f"data: no *.txt files in {corpus_dir}")
    chunks: list[str] = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read().strip()
        cap = CORPUS_CAPS.get(os.path.basename(path))
        if cap and len(text) > cap:
            cut = text.rfind("\n\n", 0, cap)
            text = text[:cut if cut > 0 else max(0, text.rfind("\n", 0, cap))]
        text += "\n\n"
        start = 0
        while start < len(text):
            end = text.find("\n\n", start + chunk_bytes)
            end = len(text) if end < 0 else end + 2
            while end < len(text) and text[end] in "\r\n":
                end += 1
            chunks.append(text[start:end])
            start = end
    ids = enc.encode_batch(chunks)
    return np.concatenate([np.asarray(x, dtype=np.int32) for x in ids if x])


def _seeded(seed: int, *parts) -> random.Random:
    h = hashlib.sha256(repr((seed,) + parts).encode()).digest()
    return random.Random(int.from_bytes(h[:8], "little"))


class Batcher:
    def __init__(self, enc: Encoder, corpus: np.ndarray, seed: int, tokens_per_batch: int,
                 task_share: float = 0.6, length_mix: dict[int, float] | None = None):
        self.enc, self.corpus, self.seed = enc, corpus, seed
        self.tokens_per_batch = tokens_per_batch
        self.task_share = task_share
        self.length_mix = length_mix or LENGTH_MIX
        self.ends = enc.sentence_end_table()
        self.corpus_ends = np.flatnonzero(self.ends[corpus])
        noise = enc.encode(" " + " ".join(T.NOISE_SENTENCES))
        self.noise = np.asarray(noise * (8192 // max(1, len(noise)) + 2), dtype=np.int32)
        self.pad = enc.specials["<|endoftext|>"]
        e = enc.encode
        self.user_open = e("<|im_start|>user\n")
        self.turn_close = e("<|im_end|>\n<|im_start|>assistant\n")
        self.no_think = e("<think>\n\n</think>\n\n")
        self.end = e("<|im_end|>")
        self.newline = e("\n")

    # ---- haystacks -------------------------------------------------------------------------
    def _haystack(self, kind: str, n: int, rng: random.Random) -> np.ndarray:
        if n <= 0:
            return np.zeros(0, dtype=np.int32)
        if kind == "noise":
            src, offset = self.noise, 0
        else:
            src = self.corpus
            k = rng.randrange(len(self.corpus_ends))
            offset = int(self.corpus_ends[k]) + 1
            if offset + n + 256 > len(src):
                offset = int(self.corpus_ends[0]) + 1
        toks = src[offset:offset + n + 256]
        # The first sentence without its leading space (the haystack follows a newline).
        first_end = np.flatnonzero(self.ends[toks[:256]])
        cut = int(first_end[0]) + 1 if len(first_end) else 0
        head = np.asarray(self.enc.encode(self.enc.decode(toks[:cut]).lstrip()), dtype=np.int32)
        return np.concatenate([head, toks[cut:]])[:n]

    def _with_insertions(self, hay: np.ndarray, ins: list[T.Insertion], spaced: dict[str, np.ndarray]):
        """Inserts each sentence at the sentence boundary nearest its depth; returns the segments
        (token arrays) and whether each is haystack text. spaced[text]: the tokens of " " + text
        (every insertion but one that opens the haystack)."""
        bounds = np.concatenate([[0], np.flatnonzero(self.ends[hay]) + 1])
        placed: dict[int, list[str]] = {}
        for x in sorted(ins, key=lambda x: x.depth):
            target = min(max(x.depth, 0.0), 1.0) * len(hay)
            b = int(bounds[np.argmin(np.abs(bounds - target))])
            placed.setdefault(b, []).append(x.text)
        segs, prev = [], 0
        for b in sorted(placed):
            segs.append((hay[prev:b], True))
            for text in placed[b]:
                opens = b == 0 and segs[-1][0].size == 0
                segs.append((np.asarray(self.enc.encode(text), dtype=np.int32) if opens else spaced[text], False))
            prev = b
        segs.append((hay[prev:], True))
        return segs

    # ---- rows ------------------------------------------------------------------------------
    def lm_row(self, length: int, rng: random.Random):
        start = rng.randrange(0, len(self.corpus) - length - 1)
        ids = self.corpus[start:start + length + 1]
        return ids.astype(np.int64), np.ones(length, dtype=np.float32)

    def task_row(self, length: int, rng: random.Random, family: str | None = None, thinking: bool | None = None):
        family = family or T.pick_family(rng)
        task = T.make_task(rng, family, budget_words=length // 3)
        draw = rng.random()
        thinking = draw < THINKING_SHARE if thinking is None else thinking
        e = lambda s: np.asarray(self.enc.encode(s), dtype=np.int32)
        head = np.concatenate([np.asarray(self.user_open, np.int32), e(task.instruction + "\n")])
        tail = np.concatenate([e("\n" + task.question), np.asarray(self.turn_close, np.int32),
                               np.zeros(0, np.int32) if thinking else np.asarray(self.no_think, np.int32)])
        answer = np.concatenate([e(task.thinking() if thinking else task.direct), np.asarray(self.end, np.int32),
                                 np.asarray(self.newline, np.int32)])
        room = length + 1 - len(head) - len(tail) - len(answer)
        lm_weight = 1.0 if task.haystack == "corpus" else 0.0
        if task.haystack == "none":
            body, budget = e(task.body), length // 3
            for _ in range(3):  # redraw the list at the size that fills the row
                ratio = room / max(1, len(body))
                if 0.9 <= ratio <= 1.0:
                    break
                budget = max(20, int(budget * ratio * 0.97))
                task = T.make_task(rng, family, budget_words=budget)
                answer = np.concatenate([e(task.thinking() if thinking else task.direct),
                                         np.asarray(self.end, np.int32), np.asarray(self.newline, np.int32)])
                room = length + 1 - len(head) - len(tail) - len(answer)
                body = e(task.body)
            body = body[:max(0, room)]
            ids, w = self._assemble(head, [(body, False)], tail, answer, lm_weight)
        else:
            spaced = {x.text: e(" " + x.text) for x in task.insertions}
            n = room - sum(len(spaced[x.text]) for x in task.insertions)
            if n < 0:  # the story alone is longer than the row: a language-model row instead
                return self.lm_row(length, rng)
            hay_seed = rng.random()
            for _ in range(4):  # a merge at a boundary can shift the count by a token or two
                segs = self._with_insertions(self._haystack(task.haystack, n, random.Random(hay_seed)),
                                             task.insertions, spaced)
                ids, w = self._assemble(head, segs, tail, answer, lm_weight)
                if len(ids) <= length + 1:
                    break
                n -= len(ids) - (length + 1)
        if len(ids) > length + 1:
            raise RuntimeError(f"data: a {family} row of {len(ids)} tokens does not fit {length + 1}")
        if len(ids) < length + 1:
            pad = length + 1 - len(ids)
            ids = np.concatenate([ids, np.full(pad, self.pad, np.int32)])
            w = np.concatenate([w, np.zeros(pad, np.float32)])
        # w[i] weighs token i as a target (predicted from ids[:i]); row weights are w[1:].
        return ids.astype(np.int64), w[1:]

    @staticmethod
    def _assemble(head, segs, tail, answer, lm_weight):
        ids = [head] + [t for t, _ in segs] + [tail, answer]
        w = [np.zeros(len(head), np.float32)]
        w += [np.full(len(t), lm_weight if is_hay else 0.0, np.float32) for t, is_hay in segs]
        w += [np.zeros(len(tail), np.float32), np.full(len(answer), ANSWER_WEIGHT, np.float32)]
        w = np.concatenate(w)
        w[-1] = 0.0  # the newline after <|im_end|>
        return np.concatenate(ids), w

    def probe_rows(self, families: list[str], lengths: list[int], per_cell: int):
        """Fixed task rows (thinking off) from a seed of their own, for progress probes: a row counts
        as solved when the greedy choice equals the answer at every answer position, which is
        exactly when greedy generation would write the answer."""
        rows = []
        for f in families:
            for length in lengths:
                for i in range(per_cell):
                    ids, w = self.task_row(length, _seeded(self.seed, "probe", f, length, i), family=f, thinking=False)
                    if (w == ANSWER_WEIGHT).any():
                        rows.append((f, length, ids, w))
        return rows

    def batch(self, index: int):
        rng = _seeded(self.seed, "batch", index)
        lengths = list(self.length_mix)
        length = rng.choices(lengths, weights=[self.length_mix[k] for k in lengths])[0]
        rows = max(1, self.tokens_per_batch // length)
        ids = np.zeros((rows, length + 1), dtype=np.int64)
        weights = np.zeros((rows, length), dtype=np.float32)
        for r in range(rows):
            row_rng = _seeded(self.seed, "row", index, r)
            if row_rng.random() < self.task_share:
                ids[r], weights[r] = self.task_row(length, row_rng)
            else:
                ids[r], weights[r] = self.lm_row(length, row_rng)
        return ids, weights
