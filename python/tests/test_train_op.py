"""swaa.train_attention (the CUDA training kernels as an autograd op) against PyTorch autograd of the
dense SWAA mask in fp32, on the GPU machine; the varlen packing helpers run on the CPU too.

    python3 -m unittest python/tests/test_train_op.py
"""
from __future__ import annotations

import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from swaa import SWAAConfig  # noqa: E402
from swaa.mask import dense_mask  # noqa: E402
from swaa.train_attention import padded_to_varlen, varlen_to_padded  # noqa: E402


def reference(q, k, v, lens, prompts, policy, scale):
    """fp32 autograd reference per sequence: q [N, H, D], k/v [N, Hkv, D]."""
    outs, start = [], 0
    groups = q.shape[1] // k.shape[1]
    for n, p in zip(lens, prompts):
        qs, ks, vs = (x[start:start + n].float().transpose(0, 1) for x in (q, k, v))  # [H, n, D]
        ks, vs = ks.repeat_interleave(groups, 0), vs.repeat_interleave(groups, 0)
        m = dense_mask(policy, n, n, torch.tensor([p], device=q.device))[0, 0]
        s = (qs @ ks.transpose(1, 2)) * scale
        s = s.masked_fill(~m, float("-inf"))
        outs.append((s.softmax(-1) @ vs).transpose(0, 1))
        start += n
    return torch.cat(outs)


class PackingTest(unittest.TestCase):
    def test_roundtrip(self):
        x = torch.randn(2, 3, 5, 4)
        valid = torch.tensor([[True] * 5, [False, False, True, True, True]])
        y = padded_to_varlen(x, valid)
        self.assertEqual(tuple(y.shape), (8, 3, 4))
        back = varlen_to_padded(y, valid)
        self.assertTrue(torch.equal(back[0], x[0].transpose(0, 1)))
        self.assertTrue(torch.equal(back[1, 2:], x[1].transpose(0, 1)[2:]))
        self.assertTrue(bool((back[1, :2] == 0).all()))


@unittest.skipUnless(torch.cuda.is_available(), "needs the GPU machine")
class TrainOpTest(unittest.TestCase):
    def test_forward_and_backward_match_autograd(self):
        from swaa.train_attention import swaa_attention_varlen
        torch.manual_seed(0)
        cases = [
            (SWAAConfig(), 0, [200, 77], [120, 77], 4, 2, 64),
            (SWAAConfig(sliding_window_size=64), 0, [300], [150], 8, 1, 128),
            (SWAAConfig(sliding_window_size=17, keep_first=5), 0, [130, 1, 64], [40, 1, 0], 4, 4, 64),
            (SWAAConfig(sliding_window_size=17, keep_first=5, force_fa_decode=True), 0, [130, 65], [40, 65], 8, 2, 128),
            (SWAAConfig(sliding_window_size=1, keep_first=70), 0, [257], [100], 4, 1, 64),
            (SWAAConfig(sliding_window_size=8, non_sliding_layers=[0]), 0, [90], [30], 4, 2, 64),
        ]
        for cfg, layer, lens, prompts, h, hkv, d in cases:
            policy = cfg.policy(layer)
            n = sum(lens)
            q = torch.randn(n, h, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
            k = torch.randn(n, hkv, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
            v = torch.randn(n, hkv, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
            cu = torch.tensor([0] + torch.tensor(lens).cumsum(0).tolist(), device="cuda")
            pl = torch.tensor(prompts, device="cuda")
            qf, kf, vf = (x.detach().float().requires_grad_() for x in (q, k, v))
            ref = reference(qf, kf, vf, lens, prompts, policy, d ** -0.5)
            dout = torch.randn_like(q)
            rq, rk, rv = torch.autograd.grad(ref, (qf, kf, vf), dout.float())
            for splits in (1, 0, 3):  # the sink tiles' backward walks: one CTA, automatic, 3 CTAs
                out = swaa_attention_varlen(q, k, v, cu, pl, max(lens), policy, sink_splits=splits)
                dq, dk, dv = torch.autograd.grad(out, (q, k, v), dout)
                name = f"{cfg.describe()} lens {lens} prompts {prompts} heads {h}/{hkv} d {d} sink_splits {splits}"
                for got, want, what in ((out, ref, "out"), (dq, rq, "dq"), (dk, rk, "dk"), (dv, rv, "dv")):
                    err = (got.float() - want).abs().max().item()
                    scale = want.abs().max().item() + 1e-6
                    self.assertLess(err / scale, 2e-2, f"{name}: {what} max error {err:.3e} (scale {scale:.3e})")


if __name__ == "__main__":
    unittest.main()
