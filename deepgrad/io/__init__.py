"""Saving and loading models and state dicts: one file, a JSON manifest and .npy arrays,
no pickle; loading checks every size before it allocates."""

from __future__ import annotations

from .checkpoint import FORMAT_VERSION, Checkpoint, load, load_checkpoint, save
from .config import get_module_class, module_from_config, module_to_config, register_module
from .safetensors import SafetensorsError, load_safetensors, safetensors_metadata, save_safetensors

__all__ = [
    "save", "load", "load_checkpoint", "Checkpoint", "FORMAT_VERSION",
    "register_module", "get_module_class", "module_to_config", "module_from_config",
    "save_safetensors", "load_safetensors", "safetensors_metadata", "SafetensorsError",
]
