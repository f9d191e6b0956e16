"""The Python SWAA mask against SWAA.md's worked example and a brute-force loop of §2's rule.
Needs PyTorch only (CPU is enough): python3 -m unittest discover -s python/tests"""
from __future__ import annotations

import itertools
import os
import random
import sys
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from swaa import SWAAConfig  # noqa: E402
from swaa.mask import dense_mask, flex_mask_mod  # noqa: E402

# SWAA.md §2: W = 3, S = 2, prompt of 8 tokens then 2 generated tokens, sliding layer.
EXAMPLE_PREFILL = [
    "x", "xx", "xxx", "xxxx", "xxxxx", "xx.xxx", "xx..xxx", "xx...xxx",
]
EXAMPLE_DECODE_OFF = ["xx....xxx", "xx.....xxx"]
EXAMPLE_DECODE_ON = ["xxxxxxxxx", "xxxxxxxxxx"]


def rows(mask: torch.Tensor) -> list[str]:
    return ["".join("x" if mask[i, j] else "." for j in range(i + 1)) for i in range(mask.shape[0])]


def brute(policy, q_len, k_len, prompt_len, q_offset):
    m = torch.zeros(q_len, k_len, dtype=torch.bool)
    for i in range(q_len):
        p = q_offset + i
        generated = p >= prompt_len
        for j in range(k_len):
            ok = j <= p
            if policy.sliding and not (generated and policy.fa_decode):
                ok = ok and (j > p - policy.window or j < policy.keep_first)
            m[i, j] = ok
    return m


class MaskTest(unittest.TestCase):
    def test_worked_example(self):
        for fa, decode in ((False, EXAMPLE_DECODE_OFF), (True, EXAMPLE_DECODE_ON)):
            policy = SWAAConfig(sliding_window_size=3, keep_first=2, force_fa_decode=fa).policy(0)
            m = dense_mask(policy, 10, 10, torch.tensor([8]))[0, 0]
            self.assertEqual(rows(m), EXAMPLE_PREFILL + decode, f"fa_decode={fa}")

    def test_matches_the_rule_everywhere(self):
        rng = random.Random(0)
        for _ in range(300):
            cfg = SWAAConfig(sliding_window_size=rng.choice([None, 1, 2, 3, 5, 16]),
                             keep_first=rng.choice([0, 1, 2, 7]),
                             force_fa_decode=rng.choice([False, True, [0], [1]]),
                             non_sliding_layers=rng.choice([[], [0], [1]]))
            policy = cfg.policy(rng.choice([0, 1]))
            k_len = rng.randint(1, 24)
            q_len = rng.randint(1, k_len)
            prompts = [rng.randint(0, k_len) for _ in range(3)]
            m = dense_mask(policy, q_len, k_len, torch.tensor(prompts), q_offset=k_len - q_len)
            for b, p in enumerate(prompts):
                self.assertTrue(torch.equal(m[b, 0], brute(policy, q_len, k_len, p, k_len - q_len)),
                                f"{cfg} layer policy {policy} q {q_len} k {k_len} prompt {p}")

    def test_padding_keys_are_never_visible(self):
        policy = SWAAConfig(sliding_window_size=4, keep_first=1).policy(0)
        valid = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
        m = dense_mask(policy, 6, 6, torch.tensor([6, 4]), key_valid=valid)
        self.assertFalse(bool(m[1, 0, :, 4:].any()))
        self.assertTrue(torch.equal(m[0, 0], brute(policy, 6, 6, 6, 0)))

    def test_flex_mask_mod_equals_dense(self):
        for cfg, layer in itertools.product(
                [SWAAConfig(), SWAAConfig(sliding_window_size=3, keep_first=2),
                 SWAAConfig(sliding_window_size=3, keep_first=2, force_fa_decode=True),
                 SWAAConfig(sliding_window_size=2, non_sliding_layers=[1])], [0, 1]):
            policy = cfg.policy(layer)
            prompts = torch.tensor([5, 9, 0])
            dense = dense_mask(policy, 9, 9, prompts)
            mod = flex_mask_mod(policy, prompts)
            b = torch.arange(3).view(3, 1, 1)
            q = torch.arange(9).view(1, 9, 1)
            k = torch.arange(9).view(1, 1, 9)
            self.assertTrue(torch.equal(mod(b, 0, q, k).expand(3, 9, 9), dense[:, 0]), f"{cfg} layer {layer}")

    def test_left_padding_shifts_positions(self):
        # Positions count from each sequence's first real token: a left-padded sequence
        # sees the unpadded sequence's mask, shifted, and never a padding key.
        policy = SWAAConfig(sliding_window_size=3, keep_first=2, force_fa_decode=True).policy(0)
        pad = torch.tensor([0, 3])
        valid = torch.tensor([[True] * 12, [False] * 3 + [True] * 9])
        prompt = torch.tensor([10, 7])
        m = dense_mask(policy, 12, 12, prompt, 0, valid, pad)[:, 0]
        self.assertTrue(torch.equal(m[0], brute(policy, 12, 12, 10, 0)))
        self.assertTrue(torch.equal(m[1, 3:, 3:], brute(policy, 9, 9, 7, 0)))
        self.assertFalse(bool(m[1, :, :3].any()))
        # The FlexAttention mask_mod of swaa.hf gives the same mask; decode step (1 query) too.
        mod = flex_mask_mod(policy, prompt, 0, valid, pad)
        b, q, k = torch.arange(2).view(2, 1, 1), torch.arange(12).view(1, 12, 1), torch.arange(12).view(1, 1, 12)
        self.assertTrue(torch.equal(mod(b, 0, q, k).expand(2, 12, 12), m))
        last = dense_mask(policy, 1, 12, prompt, 11, valid, pad)[:, 0, 0]
        self.assertTrue(torch.equal(last, m[:, 11]))

    def test_hf_builds_one_mask_per_forward(self):
        # swaa.hf's layers share one mask per policy; it is rebuilt when shapes or inputs change.
        from swaa import hf
        policy = SWAAConfig(sliding_window_size=3, keep_first=1).policy(0)
        built = []

        def build():
            built.append(1)
            return object()

        prompt, pad = torch.tensor([5]), torch.tensor([0])
        first = hf._cached_mask("sdpa", policy, 5, 5, (prompt, pad, None), build)
        self.assertIs(hf._cached_mask("sdpa", policy, 5, 5, (prompt.clone(), pad, None), build), first)
        hf._cached_mask("sdpa", policy, 5, 5, (torch.tensor([3]), pad, None), build)
        hf._cached_mask("sdpa", policy, 1, 6, (torch.tensor([3]), pad, None), build)
        hf._cached_mask("flex", policy, 1, 6, (torch.tensor([3]), pad, None), build)
        self.assertEqual(len(built), 4)

    def test_config_errors_name_the_field(self):
        with self.assertRaisesRegex(ValueError, "sliding_window_size must be >= 1"):
            SWAAConfig(sliding_window_size=0)
        with self.assertRaisesRegex(ValueError, "keep_first must be >= 0"):
            SWAAConfig(sliding_window_size=8, keep_first=-1)
        with self.assertRaisesRegex(ValueError, "non_sliding_layers"):
            SWAAConfig(non_sliding_layers=[-1])
        with self.assertRaisesRegex(ValueError, "unknown field"):
            SWAAConfig.from_json('{"keepfirst": 3}')


if __name__ == "__main__":
    unittest.main()
