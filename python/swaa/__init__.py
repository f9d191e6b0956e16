"""swaa's Python side: the SWAA mask and configuration, and Transformers integration for
SWA-aware fine-tuning and generation (`swaa.hf.apply`). Inference and serving are the C++ engine."""
from .config import LayerPolicy, SWAAConfig

__all__ = ["LayerPolicy", "SWAAConfig"]
