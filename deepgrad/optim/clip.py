"""Gradient clipping: by the total norm of all gradients, or element-wise by value.

The arithmetic lives in ``deepgrad.autograd.grad_clip`` and is shared with
``deepgrad.nn.utils`` (which returns the norm as a tensor, as PyTorch does).
"""

from __future__ import annotations

from ..autograd.grad_clip import clip_grad_norm_, clip_grad_value_, get_total_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]
