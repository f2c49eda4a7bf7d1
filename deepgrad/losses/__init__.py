"""Loss functions (functional forms; ``deepgrad.nn`` has the module forms).

Every loss takes ``reduction="mean" | "sum" | "none"``; "mean" is the course's cost
J = (1/m) Σ L. Targets are validated: a wrong shape, class labels outside [0, C),
non-integer labels or binary targets outside [0, 1] raise ``ValueError`` naming the bad
value. Cross-entropy and BCE-with-logits are fused, stable ops on logits.
"""

from ._common import _check_reduction as _check_reduction  # for nn.loss (validates early)
from .binary import binary_cross_entropy, binary_cross_entropy_with_logits
from .categorical import cross_entropy, nll_loss
from .regression import L1, L2, huber_loss, l1_loss, mse_loss

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss",
    "mse_loss", "l1_loss", "huber_loss", "L1", "L2",
]
