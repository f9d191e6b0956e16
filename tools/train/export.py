"""Writes a TinyQwen3 as a Hugging Face checkpoint folder: config.json and model.safetensors (bf16;
the tied lm_head is not stored, as Transformers saves tied Qwen3 models). The safetensors file is
written directly (8-byte header length, JSON header, raw little-endian data) so this runs where
the `safetensors` package is missing.
"""
from __future__ import annotations

import json
import os
import struct

import torch

from model import TinyConfig, TinyQwen3

_DTYPE_NAMES = {torch.bfloat16: "BF16", torch.float16: "F16", torch.float32: "F32"}


def write_safetensors(path: str, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    header: dict = {"__metadata__": metadata or {"format": "pt"}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": _DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def export(model: TinyQwen3, out_dir: str, dtype=torch.bfloat16) -> str:
    os.makedirs(out_dir, exist_ok=True)
    state = {k: v.to(dtype) for k, v in model.state_dict().items()}
    if model.cfg.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    path = os.path.join(out_dir, "model.safetensors")
    write_safetensors(path, state)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(model.cfg.hf_config(), f, indent=2)
        f.write("\n")
    return path


def load_exported(out_dir: str) -> TinyQwen3:
    """Reads an exported folder back (for resuming from weights alone)."""
    with open(os.path.join(out_dir, "config.json")) as f:
        hf = json.load(f)
    fields = {k: hf[k] for k in TinyConfig.__dataclass_fields__ if k in hf}
    model = TinyQwen3(TinyConfig(**fields))
    with open(os.path.join(out_dir, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    state = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = torch.frombuffer(bytearray(data[a:b]), dtype=torch.int16 if info["dtype"] == "BF16" else torch.float32)
        t = buf.view(torch.bfloat16) if info["dtype"] == "BF16" else buf
        state[name] = t.reshape(info["shape"]).float()
    if model.cfg.tie_word_embeddings:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    model.load_state_dict(state)
    return model
