"""Tests of swaa-tiny's training data (tasks.py, data.py) with the byte-level stand-in tokenizer:
rows are exactly the asked length, loss weights cover the assistant answer and nothing of the
prompt, every answer follows from its context, batches are a pure function of (seed, index), and
no training key, name, word or haystack sentence is one that `swaa eval` draws (held-out eval).

    python3 tools/train/test_train_data.py    (needs numpy only; ctest runs it as TrainData)
"""
from __future__ import annotations

import os
import random
import re
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data as D  # noqa: E402
import tasks as T  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))


def eval_list(name: str) -> set[str]:
    """The quoted strings of one list function in eval/word_lists.cc."""
    with open(os.path.join(REPO, "eval", "word_lists.cc")) as f:
        src = f.read()
    m = re.search(r"const List& " + name + r"\(\) \{(.*?)\n\}", src, re.S)
    assert m, f"eval/word_lists.cc has no list {name}()"
    return set(re.findall(r'"([^"]+)"', m.group(1)))


def make_corpus(dir_: str) -> None:
    rng = random.Random(0)
    words = "the a man woman river city went saw found old new quiet house road king land water light".split()
    paras = []
    for _ in range(600):
        sents = [" ".join(rng.choice(words) for _ in range(rng.randint(4, 12))).capitalize() + "."
                 for _ in range(rng.randint(3, 7))]
        paras.append(" ".join(sents))
    with open(os.path.join(dir_, "a.txt"), "w") as f:
        f.write("\n\n".join(paras))


class TrainDataTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        make_corpus(cls.tmp.name)
        cls.enc = D.Encoder(None)
        cls.corpus = D.load_corpus(cls.tmp.name, cls.enc)
        cls.batcher = D.Batcher(cls.enc, cls.corpus, seed=7, tokens_per_batch=8192)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def rows(self, family: str, length: int, n: int):
        original = T.pick_family
        T.pick_family = lambda rng: family
        try:
            for i in range(n):
                ids, w = self.batcher.task_row(length, random.Random(1000 * length + i))
                yield ids, w
        finally:
            T.pick_family = original

    def test_rows_have_exact_length_and_answer_weights(self):
        im_end = self.enc.specials["<|im_end|>"]
        for family in T.FAMILY_WEIGHTS:
            for length in (1024, 4096):
                for ids, w in self.rows(family, length, 4):
                    self.assertEqual(len(ids), length + 1, family)
                    self.assertEqual(len(w), length, family)
                    text = self.enc.decode(ids)
                    if "<|im_start|>assistant" not in text:  # a story longer than the row: LM row
                        continue
                    answer = self.enc.decode(ids[1:][w == D.ANSWER_WEIGHT])
                    self.assertTrue(answer.endswith("<|im_end|>"), (family, answer))
                    prompt, _, reply = text.partition("<|im_start|>assistant\n")
                    # Weighted answer = the assistant reply up to <|im_end|> (after the empty think
                    # block when thinking is off); nothing of the user turn carries answer weight.
                    reply = reply.split("<|im_end|>")[0] + "<|im_end|>"
                    if reply.startswith("<think>\n\n</think>\n\n"):
                        reply = reply[len("<think>\n\n</think>\n\n"):]
                    self.assertEqual(answer, reply, family)
                    self.assertEqual(int((ids[1:][w == D.ANSWER_WEIGHT] == im_end).sum()), 1)

    def test_answers_follow_from_the_context(self):
        for family in T.FAMILY_WEIGHTS:
            for ids, w in self.rows(family, 2048, 6):
                text = self.enc.decode(ids)
                if "<|im_start|>assistant" not in text:
                    continue
                user = text.split("<|im_end|>")[0]
                direct = text.split("</think>\n\n")[-1].split("<|im_end|>")[0]
                if family.startswith("niah"):
                    for value in re.findall(r"\b\d{7}\b", direct):
                        self.assertEqual(user.count(f" is: {value}."), 1, (family, value))
                elif family == "passkey":
                    key = re.findall(r"\d{5}", direct)[0]
                    self.assertIn(f"The pass key is {key}.", user)
                elif family == "vt":
                    value = re.search(r"the value (\d+)", direct).group(1)
                    names = direct.split("they are: ")[1].rstrip(".").split()
                    prev = value
                    for name in names:  # each hop is stated in the context
                        rhs = prev if prev == value else f"VAR {prev}"
                        self.assertIn(f"VAR {name} = {rhs}.", user)
                        prev = name
                elif family == "babi":
                    room = re.search(r"is in the (.+)\.$", direct).group(1)
                    self.assertIn(f"the {room}.", user)
                elif family == "cwe":
                    listed = re.findall(r"\d+\. ([a-z]+)", user)
                    top = direct.split("are: ")[1].rstrip(".").split(", ")
                    counts = {x: listed.count(x) for x in set(listed)}
                    worst_top = min(counts[x] for x in top)
                    others = [c for x, c in counts.items() if x not in top]
                    self.assertGreater(worst_top, max(others), family)
                elif family == "fwe":
                    body = user.split("coded words.\n")[1].split("\nQuestion")[0].split()
                    top = direct.split("are: ")[1].rstrip(".").split(", ")
                    counts = {x: body.count(x) for x in set(body) if x != "...."}
                    fourth = sorted(counts.values(), reverse=True)[3]
                    for x in top:
                        self.assertGreater(counts[x], fourth, family)

    def test_batches_are_a_function_of_seed_and_index(self):
        other = D.Batcher(self.enc, self.corpus, seed=7, tokens_per_batch=8192)
        for i in (0, 5, 17):
            a, wa = self.batcher.batch(i)
            b, wb = other.batch(i)
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(wa, wb)
        third = D.Batcher(self.enc, self.corpus, seed=8, tokens_per_batch=8192)
        differs = [a.shape != b.shape or not np.array_equal(a, b)
                   for a, b in ((self.batcher.batch(i)[0], third.batch(i)[0]) for i in range(4))]
        self.assertTrue(all(differs))

    def test_training_material_is_disjoint_from_eval(self):
        self.assertFalse(set(T.KEY_ADJECTIVES) & eval_list("key_adjectives"))
        self.assertFalse(set(T.KEY_NOUNS) & eval_list("key_nouns"))
        self.assertFalse(set(T.PEOPLE) & eval_list("people"))
        self.assertFalse(set(T.ROOMS) & eval_list("rooms"))
        self.assertFalse(set(T.OBJECTS) & eval_list("objects"))
        self.assertFalse(set(T.NOISE_SENTENCES) & eval_list("noise_sentences"))
        rng = random.Random(3)
        eval_style = re.compile(r"^([bdfgklmnprstvz][aeiou]){3}$")
        for _ in range(5000):
            self.assertIsNone(eval_style.match(T.pseudo_word(rng)))

    def test_lm_rows_are_weighted_everywhere(self):
        ids, w = self.batcher.lm_row(512, random.Random(1))
        self.assertEqual(len(ids), 513)
        self.assertTrue((w == 1.0).all())


if __name__ == "__main__":
    unittest.main()
