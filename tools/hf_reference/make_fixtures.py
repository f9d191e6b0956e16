#!/usr/bin/env python3
"""Build tiny random Hugging Face checkpoints and SWAA reference log-probabilities.

For every architecture the engine supports (Qwen3, Qwen3-MoE, Qwen2, Llama) this script

  1. builds a tiny model with Transformers from a fixed seed, re-initialises every
     parameter so that attention is sharp (SWAA configurations give clearly different
     answers), converts it to the storage dtype and saves it with `save_pretrained`;
  2. reloads the saved directory with `from_pretrained` (so the reference is computed
     from exactly the rounded weights on disk), converts it to float64 on the CPU;
  3. runs ONE forward pass over T tokens (positions 0..T-1, no cache) per SWAA
     configuration, with a custom attention function registered through
     `transformers.AttentionInterface` that applies the mask of SWAA.md section 2
     (the phase of a token comes from the prompt length P, not from the call);
  4. writes <out>/<model>/cases.json with log p(token[t+1] | tokens[0..t]).

Precision ("strict fp64"): Transformers upcasts some ops to float32 explicitly
(RMSNorm `.to(torch.float32)`, RoPE `.float()`, eager/router softmax `dtype=torch.float`),
which would limit a `model.double()` run to float32 accuracy in those ops. During the
reference forwards the script maps every float32 conversion to float64 (see
`strict_fp64`) and recomputes the RoPE inverse frequencies in float64 with Transformers'
own rope init functions, so the stored log-probabilities are float64 math on the stored
weights. The difference to a plain `model.double()` run is measured and reported.

Run:  python3 make_fixtures.py --out DIR      (CPU only; torch + transformers + safetensors)
      python3 make_fixtures.py --selftest     (pure-Python mask checks, no torch needed)
"""

import argparse
import contextlib
import json
import math
import os
import re
import shutil
import sys
import time
import traceback

# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------

SEED = 20251210
TOKEN_SEED = 1234
VOCAB = 512
HIDDEN = 64
LAYERS = 4
HEADS = 4
KV_HEADS = 2
INTERMEDIATE = 128
MOE_INTERMEDIATE = 32
MAX_POS = 256
T_TOKENS = 96
PROMPT = 64
MIN_SWA_DIFF = 0.05
# Gains tried in order until every SWA case differs from "full" by > MIN_SWA_DIFF.
GAINS = [2.0, 3.0, 4.0]
ATTN_NAME = "swaa_reference"
MOE_SEED_TRIES = 32
MOE_MIN_LOGIT_GAP = 1e-3

CASES = [
    ("full", {"sliding_window_size": None, "keep_first": 0, "force_fa_decode": False, "non_sliding_layers": []}),
    ("w8", {"sliding_window_size": 8, "keep_first": 0, "force_fa_decode": False, "non_sliding_layers": []}),
    ("w8_s4", {"sliding_window_size": 8, "keep_first": 4, "force_fa_decode": False, "non_sliding_layers": []}),
    ("w8_s4_fa", {"sliding_window_size": 8, "keep_first": 4, "force_fa_decode": True, "non_sliding_layers": []}),
    ("w8_s4_fa_nsl", {"sliding_window_size": 8, "keep_first": 4, "force_fa_decode": True, "non_sliding_layers": [1, 3]}),
    ("w8_s4_falist", {"sliding_window_size": 8, "keep_first": 4, "force_fa_decode": [0, 2], "non_sliding_layers": []}),
    ("s_gt_w", {"sliding_window_size": 4, "keep_first": 12, "force_fa_decode": False, "non_sliding_layers": []}),
    ("w1", {"sliding_window_size": 1, "keep_first": 0, "force_fa_decode": False, "non_sliding_layers": []}),
    ("w1_s2_fa", {"sliding_window_size": 1, "keep_first": 2, "force_fa_decode": True, "non_sliding_layers": []}),
    ("w16_s3_nsl_even", {"sliding_window_size": 16, "keep_first": 3, "force_fa_decode": False, "non_sliding_layers": [0, 2]}),
]

# (case a, case b, n): logprobs[:n] must be identical (same mask rows for positions < n).
SAME_PREFIX = [("full", "w8", 8), ("w8_s4", "w8_s4_fa", PROMPT), ("w8_s4", "w8_s4_falist", PROMPT),
               ("w8_s4_fa", "w8_s4_falist", PROMPT), ("full", "s_gt_w", 12), ("full", "w1", 1),
               ("full", "w1_s2_fa", 2)]
# (case a, case b): must differ somewhere in [PROMPT, T-1) (they differ only in decode rows).
DECODE_DIFFERS = [("w8_s4", "w8_s4_fa"), ("w8_s4", "w8_s4_falist"), ("w8_s4_fa", "w8_s4_falist")]

MODEL_SPECS = [
    {
        "name": "qwen3", "model_cls": "Qwen3ForCausalLM", "config_cls": "Qwen3Config", "dtype": "bfloat16",
        "qk_norm": True, "moe": False, "shard": None,
        "config": dict(head_dim=16, tie_word_embeddings=False, use_sliding_window=False, attention_bias=False,
                       rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
    },
    {
        "name": "qwen3_moe", "model_cls": "Qwen3MoeForCausalLM", "config_cls": "Qwen3MoeConfig", "dtype": "bfloat16",
        "qk_norm": True, "moe": True, "shard": None,
        "config": dict(head_dim=16, tie_word_embeddings=False, use_sliding_window=False, attention_bias=False,
                       num_experts=8, num_experts_per_tok=2, norm_topk_prob=True, decoder_sparse_step=1,
                       mlp_only_layers=[1], moe_intermediate_size=MOE_INTERMEDIATE, output_router_logits=False,
                       rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
    },
    {
        "name": "qwen2", "model_cls": "Qwen2ForCausalLM", "config_cls": "Qwen2Config", "dtype": "float16",
        "qk_norm": False, "moe": False, "shard": None,
        "config": dict(tie_word_embeddings=True, use_sliding_window=False,
                       rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
                                        "original_max_position_embeddings": 64}),
    },
    {
        "name": "llama", "model_cls": "LlamaForCausalLM", "config_cls": "LlamaConfig", "dtype": "float32",
        "qk_norm": False, "moe": False, "shard": "200KB",
        "config": dict(head_dim=32, tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
                       rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                        "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                        "original_max_position_embeddings": 32}),
    },
]

# --------------------------------------------------------------------------------------
# The SWAA mask (SWAA.md section 2), pure Python: the normative statement.
# --------------------------------------------------------------------------------------


def layer_policy(swaa, layer):
    """Returns (sliding, fa_decode) for one layer."""
    w = swaa["sliding_window_size"]
    sliding = w is not None and layer not in swaa["non_sliding_layers"]
    fa = swaa["force_fa_decode"]
    fa_on = fa if isinstance(fa, bool) else (layer in fa)
    return sliding, fa_on


def visible(p, j, prompt_len, swaa, layer):
    """May the query at absolute position p see the key at position j?"""
    if j > p:
        return False
    sliding, fa_on = layer_policy(swaa, layer)
    if not sliding:
        return True
    if p >= prompt_len and fa_on:  # generated token, FA decode on for this layer
        return True
    w, s = swaa["sliding_window_size"], swaa["keep_first"]
    return j > p - w or j < s


def selftest():
    """Pure-Python checks of `visible` against the example in SWAA.md section 2."""
    diagram = [  # W=3, S=2, prompt of 8 tokens then 2 generated tokens
        "x", "xx", "xxx", "xxxx", "xxxxx", "xx.xxx", "xx..xxx", "xx...xxx",
    ]
    off = {"sliding_window_size": 3, "keep_first": 2, "force_fa_decode": False, "non_sliding_layers": []}
    on = dict(off, force_fa_decode=True)
    for p, row in enumerate(diagram):
        for j in range(10):
            want = j < len(row) and row[j] == "x"
            assert visible(p, j, 8, off, 0) == want, (p, j)
            assert visible(p, j, 8, on, 0) == want, (p, j)
    row8_off = "xx....xxx."
    for j in range(10):
        assert visible(8, j, 8, off, 0) == (row8_off[j] == "x"), j
        assert visible(8, j, 8, on, 0) == (j <= 8)
        assert visible(9, j, 8, on, 0) is True
    # non-sliding layer and per-layer FA decode list
    cfg = {"sliding_window_size": 3, "keep_first": 0, "force_fa_decode": [2], "non_sliding_layers": [1]}
    assert visible(7, 0, 8, cfg, 1) and not visible(7, 0, 8, cfg, 0) and not visible(7, 0, 8, cfg, 2)
    assert visible(9, 0, 8, cfg, 2) and not visible(9, 0, 8, cfg, 0) and not visible(9, 0, 8, cfg, 3)
    # null window: full causal everywhere, sinks obey causality
    assert visible(5, 0, 8, {"sliding_window_size": None, "keep_first": 0, "force_fa_decode": False,
                             "non_sliding_layers": []}, 0)
    s_big = {"sliding_window_size": 1, "keep_first": 12, "force_fa_decode": False, "non_sliding_layers": []}
    assert not visible(3, 5, 8, s_big, 0) and visible(3, 2, 8, s_big, 0) and visible(20, 11, 8, s_big, 0)
    assert not visible(20, 12, 8, s_big, 0) and visible(20, 20, 8, s_big, 0)
    # W=1: only the current token (plus sinks)
    w1 = {"sliding_window_size": 1, "keep_first": 0, "force_fa_decode": False, "non_sliding_layers": []}
    assert [visible(5, j, 8, w1, 0) for j in range(7)] == [False] * 5 + [True, False]
    # case table sanity
    names = [n for n, _ in CASES]
    assert len(set(names)) == len(names)
    for _, c in CASES:
        assert set(c) == {"sliding_window_size", "keep_first", "force_fa_decode", "non_sliding_layers"}
    print("selftest: mask rule OK")


# --------------------------------------------------------------------------------------
# Output helpers (no torch)
# --------------------------------------------------------------------------------------


def write_cases_json(path, header, cases):
    for c in cases:
        for v in c["logprobs"]:
            assert math.isfinite(v), (c["name"], v)
    parts = ["{"]
    for k, v in header.items():
        parts.append(" %s: %s," % (json.dumps(k), json.dumps(v)))
    parts.append(' "cases": [')
    parts.append(",\n".join("  " + json.dumps(c) for c in cases))
    parts.append(" ]")
    parts.append("}")
    text = "\n".join(parts) + "\n"
    with open(path, "w") as f:
        f.write(text)
    back = json.loads(text)  # round-trip: repr of a float is exact
    for a, b in zip(cases, back["cases"]):
        assert a["logprobs"] == b["logprobs"] and a["swaa"] == b["swaa"]


class Checks:
    def __init__(self, verbose=True):
        self.rows = []
        self.verbose = verbose

    def add(self, model, what, ok, detail=""):
        self.rows.append((model, what, bool(ok), detail))
        if self.verbose:
            print("  [%s] %s: %s %s" % ("ok" if ok else "FAIL", model, what, detail), flush=True)

    def info(self, model, what, detail):
        self.rows.append((model, what, None, detail))
        if self.verbose:
            print("  [info] %s: %s %s" % (model, what, detail), flush=True)

    def failed(self):
        return [r for r in self.rows if r[2] is False]


# --------------------------------------------------------------------------------------
# Everything below needs torch / transformers (imported in main()).
# --------------------------------------------------------------------------------------

torch = None
transformers = None
STATE = {"masks": None, "calls": {}, "T": None}


def swaa_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Custom attention: query [B, H, T, D], key/value [B, KVH, T, D] -> ([B, T, H, D], None).

    Ignores `attention_mask` (Transformers' causal mask) and applies the SWAA mask of the
    layer `module.layer_idx` prepared in STATE["masks"]."""
    layer = module.layer_idx
    STATE["calls"][layer] = STATE["calls"].get(layer, 0) + 1
    b, h, tq, d = query.shape
    kvh, tk = key.shape[1], key.shape[2]
    assert tq == tk == STATE["T"], (tq, tk, STATE["T"])
    assert h % kvh == 0
    rep = h // kvh
    k = key.repeat_interleave(rep, dim=1) if rep > 1 else key  # == transformers' repeat_kv
    v = value.repeat_interleave(rep, dim=1) if rep > 1 else value
    if scaling is None:
        scaling = d ** -0.5
    scores = torch.matmul(query.to(torch.float64), k.to(torch.float64).transpose(2, 3)) * scaling
    mask = STATE["masks"][layer]  # [T, T] bool, True = visible
    scores = scores.masked_fill(~mask, float("-inf"))
    probs = torch.softmax(scores, dim=-1, dtype=torch.float64)
    out = torch.matmul(probs, v.to(torch.float64)).to(query.dtype)
    return out.transpose(1, 2).contiguous(), None


def build_masks(swaa, n_layers, t, prompt_len):
    pos = torch.arange(t)
    p = pos[:, None]
    j = pos[None, :]
    causal = j <= p
    masks = []
    for layer in range(n_layers):
        sliding, fa_on = layer_policy(swaa, layer)
        if not sliding:
            m = causal.clone()
        else:
            w, s = swaa["sliding_window_size"], swaa["keep_first"]
            keep = (j > p - w) | (j < s)
            if fa_on:
                keep = keep | (p >= prompt_len)
            m = causal & keep
        # cross-check against the pure-Python statement of the rule
        ref = [[visible(pp, jj, prompt_len, swaa, layer) for jj in range(t)] for pp in range(t)]
        assert m.tolist() == ref, ("mask mismatch", swaa, layer)
        masks.append(m)
    return masks


# ---- strict float64 -----------------------------------------------------------------

_PATCHED = {}


def _to64(x):
    return torch.float64 if x is torch.float32 else x


@contextlib.contextmanager
def strict_fp64(model=None, factories=False):
    """Map every float32 conversion to float64 while active (see module docstring).

    Patches Tensor.to / Tensor.float / Tensor.type / Tensor.softmax / Tensor.log_softmax and
    torch.softmax / torch.log_softmax / F.softmax / F.log_softmax; swaps the RoPE inverse
    frequencies of `model` for the float64 ones computed by prepare_strict_rope().
    factories=True also makes torch.arange(..., dtype=torch.float32) produce float64 (only used
    while recomputing the RoPE inverse frequencies)."""
    T = torch.Tensor
    F = torch.nn.functional
    saved = []

    def patch(owner, name, fn):
        had = name in owner.__dict__
        saved.append((owner, name, had, owner.__dict__.get(name)))
        setattr(owner, name, fn)

    orig_to = T.to
    orig_type = T.type
    orig_t_softmax, orig_t_logsoftmax = T.softmax, T.log_softmax
    orig_softmax, orig_logsoftmax = torch.softmax, torch.log_softmax
    orig_F_softmax, orig_F_logsoftmax = F.softmax, F.log_softmax

    def promote(fn):
        def wrapper(*args, **kwargs):
            args = tuple(_to64(a) for a in args)
            if "dtype" in kwargs:
                kwargs["dtype"] = _to64(kwargs["dtype"])
            return fn(*args, **kwargs)
        return wrapper

    def t_float(self, *args, **kwargs):
        return orig_to(self, torch.float64)

    def t_type(self, *args, **kwargs):
        if args and args[0] in (torch.float32, "torch.FloatTensor"):
            return orig_to(self, torch.float64)
        return orig_type(self, *args, **kwargs)

    swapped = []
    try:
        patch(T, "to", promote(orig_to))
        patch(T, "float", t_float)
        patch(T, "type", t_type)
        patch(T, "softmax", promote(orig_t_softmax))
        patch(T, "log_softmax", promote(orig_t_logsoftmax))
        # torch.softmax etc. are module attributes: patch via setattr on the module objects
        mods = [(torch, "softmax", orig_softmax), (torch, "log_softmax", orig_logsoftmax),
                (F, "softmax", orig_F_softmax), (F, "log_softmax", orig_F_logsoftmax)]
        if factories:
            mods.append((torch, "arange", torch.arange))
        for mod, name, fn in mods:
            saved.append((mod, name, True, fn))
            setattr(mod, name, promote(fn))
        if model is not None:
            for m in model.modules():
                inv64 = getattr(m, "_swaa_inv_freq64", None)
                if inv64 is not None:
                    swapped.append((m, m.inv_freq, getattr(m, "attention_scaling", None)))
                    m.inv_freq = inv64
                    if getattr(m, "_swaa_attention_scaling64", None) is not None:
                        m.attention_scaling = m._swaa_attention_scaling64
        yield
    finally:
        for m, inv, sc in swapped:
            m.inv_freq = inv
            if sc is not None:
                m.attention_scaling = sc
        for owner, name, had, old in reversed(saved):
            if isinstance(owner, type):
                if had:
                    setattr(owner, name, old)
                else:
                    delattr(owner, name)
            else:
                setattr(owner, name, old)


def prepare_strict_rope(model, checks, name):
    """Recompute every rotary module's inv_freq in float64 with Transformers' own init fn."""
    n = 0
    for mname, m in model.named_modules():
        if not hasattr(m, "inv_freq") or not hasattr(m, "rope_type"):
            continue
        fn = getattr(m, "rope_init_fn", None)
        if fn is None:
            if m.rope_type == "default":
                fn = type(m).compute_default_rope_parameters
            else:
                from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
                fn = ROPE_INIT_FUNCTIONS[m.rope_type]
        cfg = m.config if getattr(m, "config", None) is not None else model.config
        res, errs = None, []
        with strict_fp64(None, factories=True):
            for call in (lambda: fn(cfg),
                         lambda: fn(cfg, None),
                         lambda: fn(cfg, None, layer_type=getattr(m, "layer_type", None)),
                         lambda: fn(config=cfg, device=None)):
                try:
                    res = call()
                    break
                except TypeError as e:
                    errs.append(str(e))
        if res is None:
            raise RuntimeError("cannot call rope_init_fn of %s: %s" % (mname, errs))
        inv64, scaling = res
        raw_dtype = inv64.dtype
        inv64 = inv64.to(torch.float64)
        old = m.inv_freq.to(torch.float64)
        assert inv64.shape == old.shape, (inv64.shape, old.shape)
        rel = ((inv64 - old).abs() / old.abs()).max().item()
        ok = rel < 1e-5 and raw_dtype == torch.float64
        checks.add(name, "rope inv_freq fp64 recompute (%s, type %s)" % (mname, getattr(m, "rope_type", "?")),
                   ok, "dtype %s, max rel diff vs HF fp32 inv_freq %.3g; attention_scaling %r (HF %r)"
                   % (raw_dtype, rel, float(scaling), getattr(m, "attention_scaling", None)))
        if not ok:
            raise RuntimeError("fp64 inv_freq disagrees with HF's")
        m._swaa_inv_freq64 = inv64
        m._swaa_attention_scaling64 = float(scaling)
        n += 1
    checks.add(name, "rotary modules prepared for fp64", n >= 1, "count %d" % n)


# ---- model helpers --------------------------------------------------------------------


def set_attn(model, impl):
    try:
        model.set_attn_implementation(impl)
    except Exception as e:  # noqa: BLE001 - older/newer API: fall back to the config field
        print("    set_attn_implementation(%r) failed (%s); setting config._attn_implementation" % (impl, e))
        model.config._attn_implementation = impl
    got = getattr(model.config, "_attn_implementation", None)
    if got != impl:
        print("    config._attn_implementation is %r after set_attn_implementation(%r); forcing it" % (got, impl))
        model.config._attn_implementation = impl
        got = getattr(model.config, "_attn_implementation", None)
    if got != impl:
        raise RuntimeError("attention implementation is %r, wanted %r" % (got, impl))


def set_experts_eager(model):
    if hasattr(model, "set_experts_implementation"):
        try:
            model.set_experts_implementation("eager")
            return "set_experts_implementation('eager')"
        except Exception as e:  # noqa: BLE001
            return "set_experts_implementation failed: %s" % e
    if hasattr(model.config, "_experts_implementation"):
        try:
            model.config._experts_implementation = "eager"
            return "config._experts_implementation='eager'"
        except Exception as e:  # noqa: BLE001
            return "config._experts_implementation failed: %s" % e
    return "no experts implementation switch"


def router_hooks(model, sink):
    """Record, per routed token, the gap between the k-th and (k+1)-th routing probability."""
    handles = []
    top_k = getattr(model.config, "num_experts_per_tok", None)
    if not top_k:
        return handles
    for name, m in model.named_modules():
        if not name.endswith("mlp.gate") or not hasattr(m, "weight"):
            continue

        def hook(mod, args, kwargs, _name=name):
            x = args[0] if args else next(iter(kwargs.values()))
            x = x.reshape(-1, x.shape[-1]).to(torch.float64)
            logits = x @ mod.weight.to(torch.float64).t()
            probs = torch.softmax(logits, dim=-1, dtype=torch.float64)
            srt = probs.sort(dim=-1, descending=True).values
            lsrt = logits.sort(dim=-1, descending=True).values
            sink.append(((lsrt[:, top_k - 1] - lsrt[:, top_k]).min().item(),
                         (srt[:, top_k - 1] - srt[:, top_k]).min().item()))

        handles.append(m.register_forward_pre_hook(hook, with_kwargs=True))
    return handles


def forward_logprobs(model, ids, impl, strict, masks=None, gaps=None):
    set_attn(model, impl)
    t = ids.shape[1]
    STATE["masks"] = masks
    STATE["calls"] = {}
    STATE["T"] = t
    handles = router_hooks(model, gaps) if gaps is not None else []
    try:
        with torch.no_grad():
            ctx = strict_fp64(model) if strict else contextlib.nullcontext()
            with ctx:
                out = model(input_ids=ids, position_ids=torch.arange(t)[None, :], use_cache=False)
    finally:
        for h in handles:
            h.remove()
    logits = out.logits[0].to(torch.float64)
    assert logits.dtype == torch.float64 and logits.shape == (t, model.config.vocab_size)
    lp = torch.log_softmax(logits, dim=-1)
    res = lp[:-1].gather(1, ids[0, 1:, None])[:, 0]
    if impl == ATTN_NAME:
        n_layers = model.config.num_hidden_layers
        assert STATE["calls"] == {i: 1 for i in range(n_layers)}, ("custom attention not used as expected",
                                                                      STATE["calls"])
    return res


def maxdiff(a, b):
    return (a - b).abs().max().item()


def init_weights(model, spec, gain, seed):
    """Deterministic re-initialisation of every parameter (sharp attention, O(1) residual)."""
    g = torch.Generator().manual_seed(seed)
    rules = {}
    cfg = model.config
    for name, p in model.named_parameters():
        shape = tuple(p.shape)
        n = torch.randn(shape, generator=g, dtype=torch.float32)
        if name.endswith("norm.weight"):
            if name.endswith("q_norm.weight") or name.endswith("k_norm.weight"):
                val, rule = gain * (1.0 + 0.1 * n), "qk_norm gain*(1+0.1n)"
            else:
                val, rule = 1.0 + 0.1 * n, "norm 1+0.1n"
        elif "embed_tokens" in name:
            val, rule = 0.5 * n, "embed 0.5n"
        elif name.startswith("lm_head"):
            val, rule = 4.0 * n / math.sqrt(shape[1]), "lm_head 4n/sqrt(in)"
        elif name.endswith(".bias"):
            val, rule = 0.3 * n, "bias 0.3n"
        elif len(shape) == 2:
            is_qk = name.endswith("q_proj.weight") or name.endswith("k_proj.weight")
            if is_qk and not spec["qk_norm"]:
                val, rule = gain * n / math.sqrt(shape[1]), "q/k gain*n/sqrt(in)"
            elif name.endswith("mlp.gate.weight"):
                val, rule = 3.0 * n / math.sqrt(shape[1]), "router 3n/sqrt(in)"
            else:
                val, rule = n / math.sqrt(shape[1]), "linear n/sqrt(in)"
        elif len(shape) == 3 and "experts" in name:
            fan_in = cfg.hidden_size if "gate_up" in name else cfg.moe_intermediate_size
            val, rule = n / math.sqrt(fan_in), "fused experts n/sqrt(%d)" % fan_in
        else:
            raise RuntimeError("no init rule for parameter %s %s" % (name, shape))
        with torch.no_grad():
            p.copy_(val)
        rules[rule] = rules.get(rule, 0) + 1
    return rules


def make_config(spec):
    cls = getattr(transformers, spec["config_cls"])
    kw = dict(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
              num_key_value_heads=KV_HEADS, intermediate_size=INTERMEDIATE, max_position_embeddings=MAX_POS,
              rms_norm_eps=1e-6, hidden_act="silu")
    kw.update(spec["config"])
    try:
        return cls(**kw), "rope_parameters"
    except Exception as e:  # noqa: BLE001 - pre-v5 API: rope_scaling + rope_theta
        print("    %s(rope_parameters=...) failed (%s); trying rope_scaling" % (spec["config_cls"], e))
        rp = dict(kw.pop("rope_parameters"))
        kw["rope_theta"] = rp.pop("rope_theta")
        if rp.get("rope_type") != "default":
            kw["rope_scaling"] = rp
        return cls(**kw), "rope_scaling"


def safetensors_keys(d):
    from safetensors import safe_open
    out = {}
    for f in sorted(os.listdir(d)):
        if f.endswith(".safetensors"):
            with safe_open(os.path.join(d, f), framework="pt") as st:
                for k in st.keys():
                    sl = st.get_slice(k)
                    out[k] = (f, tuple(sl.get_shape()), str(sl.get_dtype()))
    return out


def state_dicts_equal(a, b):
    """a: in-memory model, b: reloaded float64 model. Returns (ok, detail)."""
    sa, sb = a.state_dict(), b.state_dict()
    if set(sa) != set(sb):
        return False, "key sets differ: only in memory %s, only reloaded %s" % (
            sorted(set(sa) - set(sb))[:6], sorted(set(sb) - set(sa))[:6])
    for k in sa:
        if sa[k].shape != sb[k].shape or not torch.equal(sa[k].to(torch.float64), sb[k].to(torch.float64)):
            return False, "tensor %s differs" % k
    return True, "%d tensors equal" % len(sa)


def load_reference(d, spec, checks, label):
    cls = getattr(transformers, spec["model_cls"])
    model = cls.from_pretrained(d)
    checks.info(label, "loaded dtype", str(next(model.parameters()).dtype))
    model = model.to(torch.float64).eval()
    if spec["moe"]:
        checks.info(label, "experts implementation", set_experts_eager(model))
    return model


def per_expert_from_fused(fused_dir, out_dir, orient, swap):
    """Write the per-expert (Hub) layout of a fused-experts checkpoint."""
    from safetensors.torch import load_file, save_file
    sd = {}
    for f in sorted(os.listdir(fused_dir)):
        if f.endswith(".safetensors"):
            sd.update(load_file(os.path.join(fused_dir, f)))
    i_sz = MOE_INTERMEDIATE
    new = {}
    for k, t in sd.items():
        m = re.match(r"^(.*\.experts)\.gate_up_proj(?:\.weight)?$", k)
        m2 = re.match(r"^(.*\.experts)\.down_proj(?:\.weight)?$", k)
        if m:
            for e in range(t.shape[0]):
                if orient == "out_in":  # [E, 2I, H]
                    a, b = t[e, :i_sz, :], t[e, i_sz:, :]
                else:  # [E, H, 2I]
                    a, b = t[e, :, :i_sz].t(), t[e, :, i_sz:].t()
                gate, up = (b, a) if swap else (a, b)
                new["%s.%d.gate_proj.weight" % (m.group(1), e)] = gate.contiguous().clone()
                new["%s.%d.up_proj.weight" % (m.group(1), e)] = up.contiguous().clone()
        elif m2:
            for e in range(t.shape[0]):
                w = t[e] if orient == "out_in" else t[e].t()  # Linear(I->H).weight is [H, I]
                new["%s.%d.down_proj.weight" % (m2.group(1), e)] = w.contiguous().clone()
        else:
            new[k] = t
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    save_file(new, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    for f in os.listdir(fused_dir):
        if f.endswith(".json") and not f.endswith(".index.json"):
            shutil.copy(os.path.join(fused_dir, f), os.path.join(out_dir, f))


def run_all_cases(model, ids, spec, checks, label, gaps_out):
    """Returns {case: float64 tensor of T-1 logprobs} (strict fp64) and the strict flag."""
    n_layers = model.config.num_hidden_layers
    t = ids.shape[1]
    masks = {name: build_masks(swaa, n_layers, t, PROMPT) for name, swaa in CASES}

    # plain model.double() runs (HF's own float32 upcasts active)
    plain_full = forward_logprobs(model, ids, ATTN_NAME, False, masks["full"])
    plain_sdpa = forward_logprobs(model, ids, "sdpa", False)
    plain_eager = forward_logprobs(model, ids, "eager", False)
    d = maxdiff(plain_full, plain_sdpa)
    checks.add(label, "plain fp64: custom(full) vs sdpa < 1e-10", d < 1e-10, "%.3g" % d)
    checks.info(label, "plain fp64: custom(full) vs eager (eager softmax is fp32)", "%.3g" % maxdiff(plain_full, plain_eager))

    strict = True
    try:
        prepare_strict_rope(model, checks, label)
        full = forward_logprobs(model, ids, ATTN_NAME, True, masks["full"])
        eager = forward_logprobs(model, ids, "eager", True)
        sdpa = forward_logprobs(model, ids, "sdpa", True)
        d1, d2 = maxdiff(full, eager), maxdiff(full, sdpa)
        checks.add(label, "strict fp64: custom(full) vs eager < 1e-10", d1 < 1e-10, "%.3g" % d1)
        checks.add(label, "strict fp64: custom(full) vs sdpa < 1e-10", d2 < 1e-10, "%.3g" % d2)
        checks.info(label, "strict fp64 vs plain model.double() (full case)", "max|diff| %.3g" % maxdiff(full, plain_full))
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        checks.add(label, "strict fp64 mode usable", False, "falling back to plain model.double()")
        strict = False

    res = {}
    for name, swaa in CASES:
        gaps = [] if spec["moe"] else None
        res[name] = forward_logprobs(model, ids, ATTN_NAME, strict, masks[name], gaps)
        if gaps:
            gaps_out[name] = (min(x[0] for x in gaps), min(x[1] for x in gaps))
    return res, strict


def case_checks(res, checks, label):
    full = res["full"]
    diffs = {}
    for name, _ in CASES:
        a = res[name]
        diffs[name] = (maxdiff(a, full), maxdiff(a[:PROMPT], full[:PROMPT]), maxdiff(a[PROMPT:], full[PROMPT:]))
    for a, b, n in SAME_PREFIX:
        d = maxdiff(res[a][:n], res[b][:n])
        checks.add(label, "logprobs[:%d] of %s == %s" % (n, a, b), d < 1e-12, "%.3g" % d)
    for a, b in DECODE_DIFFERS:
        d = maxdiff(res[a][PROMPT:], res[b][PROMPT:])
        checks.add(label, "%s != %s in decode rows" % (a, b), d > 1e-6, "%.3g" % d)
    return diffs


def process_model(spec, ids, out_root, checks, summary, seed=SEED):
    name = spec["name"]
    say = print if checks.verbose else (lambda *a, **k: None)
    say("\n=== %s (seed %d) ===" % (name, seed), flush=True)
    storage = getattr(torch, spec["dtype"])
    mdir = os.path.join(out_root, name)
    fused_dir = os.path.join(out_root, name + "_fused")
    for gain in GAINS:
        torch.manual_seed(seed)
        config, rope_api = make_config(spec)
        checks.info(name, "config rope api", rope_api)
        model = getattr(transformers, spec["model_cls"])(config)
        want_rope = spec["config"]["rope_parameters"]["rope_type"]
        got_rope = sorted({str(getattr(m, "rope_type", None)) for m in model.modules() if hasattr(m, "inv_freq")})
        checks.add(name, "rotary rope_type", got_rope == [want_rope], "%s (want %s)" % (got_rope, want_rope))
        hd = model.model.layers[0].self_attn.head_dim
        want_hd = spec["config"].get("head_dim", HIDDEN // HEADS)
        checks.add(name, "head_dim", hd == want_hd, "%s" % hd)
        rules = init_weights(model, spec, gain, seed)
        checks.info(name, "init rules (gain %.1f)" % gain, json.dumps(rules))
        model = model.to(storage).eval()
        if spec["moe"]:
            kinds = [type(layer.mlp).__name__ for layer in model.model.layers]
            checks.add(name, "layer 1 is dense (mlp_only_layers=[1])",
                       not hasattr(model.model.layers[1].mlp, "experts")
                       and all(hasattr(model.model.layers[i].mlp, "experts") for i in (0, 2, 3)), str(kinds))
        for d in (mdir, fused_dir):
            if os.path.exists(d):
                shutil.rmtree(d)
        save_kw = {"max_shard_size": spec["shard"]} if spec["shard"] else {}
        model.save_pretrained(mdir, **save_kw)
        keys = safetensors_keys(mdir)
        say("  saved files: %s" % sorted(os.listdir(mdir)))
        for k, (f, shp, dt) in sorted(keys.items()):
            if ".layers." not in k or ".layers.0." in k or ".layers.1.mlp" in k:
                say("    %-55s %-18s %-8s %s" % (k, shp, dt, f))
        summary["keys"][name] = sorted(keys)
        dts = sorted({dt for _, _, dt in keys.values()})
        checks.add(name, "stored dtype", dts == [{"bfloat16": "BF16", "float16": "F16", "float32": "F32"}[spec["dtype"]]],
                   str(dts))
        if spec["shard"]:
            shards = [f for f in os.listdir(mdir) if f.endswith(".safetensors")]
            checks.add(name, "sharded (>=2 shards + index)",
                       len(shards) >= 2 and os.path.exists(os.path.join(mdir, "model.safetensors.index.json")),
                       "%d shards" % len(shards))
        if config.tie_word_embeddings:
            checks.add(name, "tied: no lm_head.weight stored", "lm_head.weight" not in keys)

        fused = any(re.search(r"\.experts\.(gate_up_proj|down_proj)(\.weight)?$", k) for k in keys)
        if spec["moe"]:
            checks.info(name, "save_pretrained expert layout", "FUSED" if fused else "per-expert")
            summary["moe_layout"] = "fused" if fused else "per-expert"
        if fused:
            os.rename(mdir, fused_dir)
            fused_ref = load_reference(fused_dir, spec, checks, name + "_fused")
            ok, det = state_dicts_equal(model, fused_ref)
            checks.add(name + "_fused", "reloaded == saved model", ok, det)
            down = [shp for k, (f, shp, dt) in keys.items() if k.endswith("down_proj") or k.endswith("experts.down_proj.weight")][0]
            first = "out_in" if down[1:] == (HIDDEN, MOE_INTERMEDIATE) else "in_out"
            cands = [(first, False), ("in_out" if first == "out_in" else "out_in", False), (first, True)]
            ref = None
            for orient, swap in cands:
                per_expert_from_fused(fused_dir, mdir, orient, swap)
                cand = load_reference(mdir, spec, checks, name)
                ok, det = state_dicts_equal(model, cand)
                checks.info(name, "per-expert conversion orient=%s swap=%s" % (orient, swap), "%s %s" % (ok, det))
                if ok:
                    ref = cand
                    summary["moe_fused_orientation"] = "%s swap=%s" % (orient, swap)
                    break
            checks.add(name, "per-expert checkpoint loads to the same weights", ref is not None)
            if ref is None:
                ref = fused_ref
            summary["keys"][name] = sorted(safetensors_keys(mdir))
        else:
            ref = load_reference(mdir, spec, checks, name)
            ok, det = state_dicts_equal(model, ref)
            checks.add(name, "reloaded == saved model", ok, det)

        gaps = {}
        res, strict = run_all_cases(ref, ids, spec, checks, name, gaps)
        diffs = case_checks(res, checks, name)
        worst = min(v[0] for k, v in diffs.items() if k != "full")
        if worst > MIN_SWA_DIFF or gain == GAINS[-1]:
            break
        say("  smallest SWA difference %.3g <= %.3g: retrying with a larger gain" % (worst, MIN_SWA_DIFF))
    checks.add(name, "every SWA case differs from full by > %.2f" % MIN_SWA_DIFF, worst > MIN_SWA_DIFF,
               "min %.3g (gain %.1f)" % (worst, gain))
    min_gap = None
    if gaps:
        checks.info(name, "min router top-k gap per case [logit, prob]",
                    json.dumps({k: [float("%.3g" % v) for v in g2] for k, g2 in gaps.items()}))
        min_gap = min(v[0] for v in gaps.values())
        checks.info(name, "min router top-k logit gap over all cases", "%.3g (seed %d)" % (min_gap, seed))

    dirs = [(name, mdir, res)]
    if fused:
        res_f, _ = run_all_cases(fused_ref, ids, spec, checks, name + "_fused", {})
        diffs_f = case_checks(res_f, checks, name + "_fused")
        worst_f = max(maxdiff(res[k], res_f[k]) for k, _ in CASES)
        checks.add(name, "fused and per-expert checkpoints give the same logprobs (< 1e-12)", worst_f < 1e-12,
                   "%.3g" % worst_f)
        dirs.append((name + "_fused", fused_dir, res_f))

    for label, d, r in dirs:
        header = {
            "model": label,
            "model_type": ref.config.model_type,
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
            "storage_dtype": spec["dtype"],
            "reference_precision": "strict_fp64" if strict else "hf_model_double",
            "seed": seed,
            "tokens": ids[0].tolist(),
            "prompt_tokens": PROMPT,
        }
        cases = [{"name": n, "swaa": s, "logprobs": [float(x) for x in r[n].tolist()]} for n, s in CASES]
        write_cases_json(os.path.join(d, "cases.json"), header, cases)
        with open(os.path.join(d, "tokens.json"), "w") as f:
            json.dump(ids[0].tolist(), f)
            f.write("\n")
        for n, s in CASES:
            with open(os.path.join(d, "swaa_%s.json" % n), "w") as f:
                json.dump(s, f)
                f.write("\n")
        with open(os.path.join(d, "config.json")) as f:
            cfg_json = json.load(f)
        summary["rope_keys"][label] = {k: cfg_json[k] for k in cfg_json if "rope" in k or k in ("max_position_embeddings",)}
        summary["diffs"][label] = {n: (diffs_f if label.endswith("_fused") else diffs)[n] for n, _ in CASES}
        summary["files"][label] = sorted(os.listdir(d))
        say("  config.json of %s:\n%s" % (label, json.dumps(cfg_json, indent=2)))
    return min_gap


def main():
    global torch, transformers
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="output directory (one sub-directory per model)")
    ap.add_argument("--selftest", action="store_true", help="run the pure-Python mask checks and exit")
    ap.add_argument("--models", default=",".join(s["name"] for s in MODEL_SPECS), help="comma-separated subset")
    args = ap.parse_args()
    selftest()
    if args.selftest:
        return 0
    if not args.out:
        ap.error("--out is required")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import torch as _torch
    import transformers as _transformers
    torch, transformers = _torch, _transformers
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    from transformers import AttentionInterface
    AttentionInterface.register(ATTN_NAME, swaa_attention)
    try:  # give the custom name a mask function too (its output is ignored by swaa_attention)
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
        AttentionMaskInterface.register(ATTN_NAME, sdpa_mask)
        mask_note = "registered AttentionMaskInterface -> sdpa_mask"
    except Exception as e:  # noqa: BLE001
        mask_note = "no AttentionMaskInterface registration (%s)" % e
    import safetensors
    print("python %s | torch %s | transformers %s | safetensors %s | %s" % (
        sys.version.split()[0], torch.__version__, transformers.__version__, safetensors.__version__, mask_note))

    t0 = time.time()
    out_root = os.path.abspath(args.out)
    os.makedirs(out_root, exist_ok=True)
    g = torch.Generator().manual_seed(TOKEN_SEED)
    ids = torch.randint(0, VOCAB, (1, T_TOKENS), generator=g, dtype=torch.long)
    checks = Checks()
    summary = {"keys": {}, "rope_keys": {}, "diffs": {}, "files": {}}
    wanted = args.models.split(",")
    for spec in MODEL_SPECS:
        if spec["name"] not in wanted:
            continue
        try:
            seed = SEED
            if spec["moe"]:
                # Pick the model seed whose routing has the largest top-k margin (min over all
                # tokens, layers and cases of logit[k-1] - logit[k]), so that an engine with
                # float32/bf16 rounding selects the same experts as the reference.
                best = None
                for k in range(MOE_SEED_TRIES):
                    junk = {"keys": {}, "rope_keys": {}, "diffs": {}, "files": {}}
                    gap = process_model(spec, ids, out_root, Checks(verbose=False), junk, SEED + k)
                    print("  moe seed %d: min router logit gap %.3g" % (SEED + k, gap), flush=True)
                    if best is None or gap > best[1]:
                        best = (SEED + k, gap)
                    if gap >= MOE_MIN_LOGIT_GAP:
                        break
                seed = best[0]
                checks.info(spec["name"], "moe seed search", "chose seed %d (min logit gap %.3g)" % best)
            process_model(spec, ids, out_root, checks, summary, seed)
        except Exception as e:  # noqa: BLE001 - keep going, report at the end
            traceback.print_exc()
            checks.add(spec["name"], "model processed", False, "%s: %s" % (type(e).__name__, e))

    lines = ["SWAA Hugging Face reference fixtures",
             "torch %s, transformers %s, safetensors %s; T=%d, P=%d, seed %d, token seed %d" % (
                 torch.__version__, transformers.__version__, safetensors.__version__, T_TOKENS, PROMPT, SEED,
                 TOKEN_SEED),
             "", "%-16s %-16s %14s %14s %14s" % ("model", "case", "max|d| all", "prompt rows", "decode rows")]
    for label, diffs in summary["diffs"].items():
        for case, (a, p, dd) in diffs.items():
            lines.append("%-16s %-16s %14.6g %14.6g %14.6g" % (label, case, a, p, dd))
    lines += ["", "MoE expert layout written by save_pretrained: %s" % summary.get("moe_layout", "?")]
    if "moe_fused_orientation" in summary:
        lines.append("fused -> per-expert conversion: %s" % summary["moe_fused_orientation"])
    for label, keys in summary["keys"].items():
        ex = [k for k in keys if ".layers.0." in k and "mlp" in k][:6]
        lines.append("%s layer-0 mlp keys (first 6): %s" % (label, ex))
    lines += ["", "rope-related config.json keys:"]
    for label, rk in summary["rope_keys"].items():
        lines.append("  %s: %s" % (label, json.dumps(rk)))
    lines += ["", "checks:"]
    for m, what, ok, det in checks.rows:
        lines.append("  [%s] %s: %s %s" % ({True: "ok", False: "FAIL", None: "info"}[ok], m, what, det))
    failed = checks.failed()
    lines += ["", "FAILED CHECKS: %d" % len(failed), "elapsed %.1f s" % (time.time() - t0)]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    with open(os.path.join(out_root, "summary.txt"), "w") as f:
        f.write(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
