"""Wall-clock budgets shared between model families and trials."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Budget:
    """A deadline in ``time.monotonic()`` seconds.

    Parameters
    ----------
    seconds : float
        Length of the budget from now (``inf`` for none).
    """

    seconds: float
    start: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float:
        """Monotonic time at which the budget runs out."""
        return self.start + self.seconds

    def elapsed(self) -> float:
        """Seconds since the budget started."""
        return time.monotonic() - self.start

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.deadline - time.monotonic())

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.remaining() <= 0.0

    def share(self, fraction: float, *, at_least: float = 0.0) -> "Budget":
        """A child budget of ``fraction`` of what remains, never past this deadline."""
        seconds = min(self.remaining(), max(at_least, fraction * self.remaining()))
        return Budget(seconds)
