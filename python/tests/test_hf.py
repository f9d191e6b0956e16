"""swaa.hf against swaa's C++ engine and against itself (GPU machine: PyTorch >= 2.5, Transformers 5).

- full attention through swaa.hf equals Transformers' own sdpa;
- under SWAA configs, the log-probabilities of a random Qwen3 equal `swaa score` (the C++ engine,
  itself checked against Transformers fixtures) with the same prompt length, when SWAA_BIN names
  the swaa binary (scripts/device_run.sh sets up build-device/swaa);
- left padding changes nothing for the real tokens;
- greedy `generate` under swaa.hf gives the same token log-probabilities as one training-style
  forward with swaa_prompt_lens = the prompt length (SWAA.md §4: training = inference semantics);
- gradients of the sdpa and flex backends agree;
- Qwen2, Llama and Qwen3-MoE models too (engine match and generate = training forward).

    SWAA_BIN=build-device/swaa python3 -m unittest discover -s python/tests -p 'test_hf.py'
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from swaa import SWAAConfig  # noqa: E402

try:
    import transformers
except ImportError:  # pragma: no cover - CPU dev machines
    transformers = None

CONFIGS = [
    SWAAConfig(sliding_window_size=4),
    SWAAConfig(sliding_window_size=5, keep_first=2),
    SWAAConfig(sliding_window_size=5, keep_first=2, force_fa_decode=True),
    SWAAConfig(sliding_window_size=3, keep_first=1, force_fa_decode=[0], non_sliding_layers=[1]),
]
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def tiny_qwen3(seed=0):
    torch.manual_seed(seed)
    cfg = transformers.Qwen3Config(vocab_size=96, hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                                   num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                   max_position_embeddings=256, tie_word_embeddings=False)
    model = transformers.Qwen3ForCausalLM(cfg).float().eval()
    with torch.no_grad():  # sharper than the default init, so masks change the outputs visibly
        for n, p in model.named_parameters():
            if p.dim() == 2:
                p.mul_(4.0)
    return model.to(DEVICE)


def tiny_model(kind: str, seed=0):
    """A small random model of each family swaa.hf supports, sharpened like tiny_qwen3."""
    if kind == "qwen3":
        return tiny_qwen3(seed)
    torch.manual_seed(seed)
    common = dict(vocab_size=96, hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=256, tie_word_embeddings=False)
    if kind == "qwen2":  # q/k/v biases
        model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**common))
    elif kind == "llama":
        model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**common, head_dim=16))
    elif kind == "qwen3_moe":
        model = transformers.Qwen3MoeForCausalLM(transformers.Qwen3MoeConfig(
            **common, head_dim=16, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
            decoder_sparse_step=1, mlp_only_layers=[]))
    else:
        raise ValueError(kind)
    model = model.float().eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() >= 2 and "embed" not in n:
                p.mul_(4.0)
    return model.to(DEVICE)


FAMILIES = ("qwen2", "llama", "qwen3_moe")


def token_logprobs(logits, ids):
    lp = torch.log_softmax(logits.double(), -1)
    return lp[:, :-1].gather(-1, ids[:, 1:, None])[..., 0]


@unittest.skipIf(transformers is None, "needs transformers")
class HfTest(unittest.TestCase):
    def setUp(self):
        import swaa.hf  # noqa: F401
        self.ids = torch.randint(0, 96, (1, 40), generator=torch.Generator().manual_seed(1)).to(DEVICE)

    def run_swaa(self, model, cfg, prompt, ids=None, backend="sdpa", **kw):
        import swaa.hf
        swaa.hf.apply(model, cfg, backend=backend)
        ids = self.ids if ids is None else ids
        return model(ids, swaa_prompt_lens=torch.tensor([prompt] * ids.shape[0], device=DEVICE), **kw).logits

    def test_full_attention_equals_sdpa(self):
        model = tiny_qwen3()
        with torch.no_grad():
            ref = model(self.ids).logits
            out = self.run_swaa(model, SWAAConfig(), 20)
        self.assertLess((ref - out).abs().max().item(), 1e-5)

    def check_engine(self, binary, model, configs, prompts, label=""):
        """The training forward under swaa.hf equals `swaa score` (the C++ engine) for every config
        and prompt length."""
        with tempfile.TemporaryDirectory() as d:
            model.save_pretrained(d, safe_serialization=True)
            with open(os.path.join(d, "tokens.json"), "w") as f:
                json.dump(self.ids[0].tolist(), f)
            for cfg in configs:
                with open(os.path.join(d, "swaa.json"), "w") as f:
                    json.dump(dict(cfg.__dict__), f)
                for prompt in prompts:
                    with torch.no_grad():
                        ours = token_logprobs(self.run_swaa(model, cfg, prompt), self.ids)[0]
                    r = subprocess.run([binary, "score", "-m", d, "--tokens-file", os.path.join(d, "tokens.json"),
                                        "--prompt-tokens", str(prompt), "--swaa-config", os.path.join(d, "swaa.json"),
                                        "--json"], capture_output=True, text=True)
                    self.assertEqual(r.returncode, 0, f"{label}swaa score failed: {r.stderr[-500:]}")
                    theirs = torch.tensor(json.loads(r.stdout[r.stdout.index("{"):])["logprobs"], dtype=torch.float64)
                    diff = (ours.cpu() - theirs).abs().max().item()
                    self.assertLess(diff, 2e-4, f"{label}{cfg.describe()} prompt {prompt}: max |Δ logprob| {diff:.2e}")

    def check_generate(self, model, cfg, new_tokens, label=""):
        """Greedy generate under swaa.hf gives the token log-probabilities of one training-style
        forward with swaa_prompt_lens = the prompt length."""
        import swaa.hf
        swaa.hf.apply(model, cfg, backend="sdpa")
        prompt = self.ids[:, :24]
        with torch.no_grad():
            # An explicit mask: without one, generate infers padding from pad_token_id, and these
            # random prompts contain token 0.
            out = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new_tokens,
                                 do_sample=False, output_scores=True, return_dict_in_generate=True, pad_token_id=0)
            seq = out.sequences
            step_lp = torch.stack([torch.log_softmax(s.double(), -1)[0, t] for s, t in zip(out.scores, seq[0, 24:])])
            full = token_logprobs(model(seq, swaa_prompt_lens=torch.tensor([24], device=DEVICE)).logits, seq)[0, 23:]
        self.assertLess((step_lp - full).abs().max().item(), 1e-4, label + cfg.describe())

    def test_matches_the_cpp_engine(self):
        binary = os.environ.get("SWAA_BIN")
        if not binary:
            self.skipTest("SWAA_BIN not set")
        self.check_engine(binary, tiny_qwen3(), CONFIGS, (40, 25, 1))

    def test_left_padding_changes_nothing(self):
        model = tiny_qwen3()
        cfg = CONFIGS[2]
        import swaa.hf
        swaa.hf.apply(model, cfg, backend="sdpa")
        short = self.ids[:, :30]
        padded = torch.cat([torch.zeros(1, 10, dtype=short.dtype, device=DEVICE), short], 1)
        batch = torch.cat([self.ids, padded])
        mask = torch.ones_like(batch)
        mask[1, :10] = 0
        with torch.no_grad():
            both = model(batch, attention_mask=mask, swaa_prompt_lens=torch.tensor([25, 25], device=DEVICE)).logits
            alone = model(short, swaa_prompt_lens=torch.tensor([25], device=DEVICE)).logits
        self.assertLess((both[1, 10:] - alone[0]).abs().max().item(), 1e-4)

    def test_generate_equals_training_forward(self):
        model = tiny_qwen3()
        for cfg in CONFIGS:
            self.check_generate(model, cfg, 12)

    def test_other_families_match_the_cpp_engine_and_generate(self):
        """Qwen2 (biases), Llama and Qwen3-MoE through swaa.hf: the training forward equals `swaa
        score` (when SWAA_BIN is set) and greedy generate equals the training forward."""
        binary = os.environ.get("SWAA_BIN")
        for kind in FAMILIES:
            model = tiny_model(kind)
            with self.subTest(family=kind):
                if binary:
                    self.check_engine(binary, model, (CONFIGS[1], CONFIGS[2]), (25,), f"{kind} ")
                for cfg in (CONFIGS[1], CONFIGS[2]):
                    self.check_generate(model, cfg, 8, f"{kind} ")

    @unittest.skipUnless(torch.cuda.is_available(), "flex attention backend needs CUDA")
    def test_flex_and_sdpa_gradients_agree(self):
        grads = {}
        for backend in ("sdpa", "flex"):
            model = tiny_qwen3()
            logits = self.run_swaa(model, CONFIGS[2], 25, backend=backend)
            token_logprobs(logits, self.ids).sum().backward()
            grads[backend] = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        rel = (grads["sdpa"] - grads["flex"]).norm() / grads["sdpa"].norm()
        self.assertLess(rel.item(), 1e-3)


if __name__ == "__main__":
    unittest.main()
