"""SWAAConfig: the four fields of ../../../shared/SWAA.md §1, with the same names and JSON shape as
the paper's config and swaa's `--swaa-config` files, resolved per layer."""
from __future__ import annotations

import dataclasses
import json
import warnings
from typing import Optional, Union


@dataclasses.dataclass(frozen=True)
class LayerPolicy:
    sliding: bool
    window: int        # W >= 1 when sliding
    keep_first: int    # S >= 0
    fa_decode: bool


@dataclasses.dataclass
class SWAAConfig:
    sliding_window_size: Optional[int] = None
    keep_first: int = 0
    force_fa_decode: Union[bool, list] = False
    non_sliding_layers: list = dataclasses.field(default_factory=list)

    def __post_init__(self):
        w = self.sliding_window_size
        if w is not None and (not isinstance(w, int) or isinstance(w, bool) or w < 1):
            raise ValueError(f"sliding_window_size must be >= 1 or None (full attention), got {w!r}")
        if not isinstance(self.keep_first, int) or isinstance(self.keep_first, bool) or self.keep_first < 0:
            raise ValueError(f"keep_first must be >= 0, got {self.keep_first!r}")
        if not isinstance(self.force_fa_decode, (bool, list, tuple)):
            raise ValueError(f"force_fa_decode must be a bool or a list of layer indices, got {self.force_fa_decode!r}")
        for name in ("non_sliding_layers",) + (("force_fa_decode",) if isinstance(self.force_fa_decode, (list, tuple)) else ()):
            for i in getattr(self, name):
                if not isinstance(i, int) or isinstance(i, bool) or i < 0:
                    raise ValueError(f"{name}: layer indices must be integers >= 0, got {i!r}")

    @classmethod
    def from_json(cls, path_or_text: str) -> "SWAAConfig":
        text = path_or_text
        if not path_or_text.lstrip().startswith("{"):
            with open(path_or_text) as f:
                text = f.read()
        d = json.loads(text)
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)} in SWAA config {path_or_text!r}")
        return cls(**d)

    def policy(self, layer: int) -> LayerPolicy:
        sliding = self.sliding_window_size is not None and layer not in self.non_sliding_layers
        fa = (layer in self.force_fa_decode) if isinstance(self.force_fa_decode, (list, tuple)) else bool(self.force_fa_decode)
        return LayerPolicy(sliding, self.sliding_window_size or 0, self.keep_first, fa)

    def check_layers(self, num_layers: int) -> None:
        """Warns once about layer indices beyond the model (SWAA.md §1: ignored)."""
        lists = [self.non_sliding_layers] + ([self.force_fa_decode] if isinstance(self.force_fa_decode, (list, tuple)) else [])
        beyond = sorted({i for lst in lists for i in lst if i >= num_layers})
        if beyond:
            warnings.warn(f"SWAA config lists layers {beyond} but the model has {num_layers}; they are ignored")

    def describe(self) -> str:
        if self.sliding_window_size is None:
            return "full attention"
        parts = [f"W={self.sliding_window_size}", f"S={self.keep_first}"]
        if self.force_fa_decode:
            parts.append("FA-decode" if self.force_fa_decode is True else f"FA-decode{list(self.force_fa_decode)}")
        if self.non_sliding_layers:
            parts.append(f"full-layers{list(self.non_sliding_layers)}")
        return " ".join(parts)
