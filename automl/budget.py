"""Wall-clock budgets, and the policy by which ``fit`` shares one between model families."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence


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


# -- how fit shares its budget -------------------------------------------------------------
# Part of the budget kept back for scoring, the ensemble and packing the result.
RESERVE_SHARE = 0.05
RESERVE_MAX_S = 10.0
# Time kept back to refit the best model on every labelled row (see automl.refit): a first guess as a share
# of the search budget until a model is known, then the estimated refit time of the two best models so far,
# never more than the cap.
REFIT_FIRST_GUESS = 0.1
REFIT_MAX_SHARE = 0.3
# Time kept back to bag the best models in k folds (see automl.resampling): at least BAG_MIN_SHARE of the
# search budget (the families' fit-time records underestimate k fold fits: the searched fit grew in chunks
# and reused warm caches), more when the estimated k fold fits of the best models so far need it, never more
# than the cap. Bagging takes the place of the refit's reserve: a bagged model is refit only with time left over.
BAG_MIN_SHARE = 0.3
BAG_MAX_SHARE = 0.45
BAG_MODELS = 3
# Every family is guaranteed this part of its weighted share of the search budget, whatever runs before it.
MIN_SHARE = 0.5


def scoring_reserve(seconds: float) -> float:
    """Seconds of a ``seconds`` budget kept back for scoring, the ensemble and packing the result.

    :data:`RESERVE_SHARE` of the budget, at most :data:`RESERVE_MAX_S`; the model families share the rest.
    """
    return min(RESERVE_MAX_S, RESERVE_SHARE * seconds)


def refit_reserve(scored, row_ratio: float, cap: float) -> float:
    """Seconds to keep for refitting: the estimated refits of the two best ``(val score, family, candidate)``.

    Two, because the best model is often an ensemble of the leaders; ``cap`` bounds it.

    Parameters
    ----------
    scored : iterable of (float, ModelFamily, Candidate)
        Validation score (oriented, higher is better), the family that made
        the candidate (its ``refit_seconds(candidate, row_ratio)`` estimates the
        refit) and the candidate.
    row_ratio : float
        Labelled rows over training rows.
    cap : float
        Upper bound in seconds.

    Returns
    -------
    float
    """
    ranked = sorted((item for item in scored if math.isfinite(item[0])), key=lambda item: -item[0])[:2]
    return float(min(cap, sum(family.refit_seconds(c, row_ratio) for _, family, c in ranked)))


def bagging_reserve(scored, k: int, row_ratio: float, cap: float) -> float:
    """Seconds to keep for bagging: ``k`` fold fits of each of the :data:`BAG_MODELS` best models so far.

    Parameters
    ----------
    scored : iterable of (float, ModelFamily, Candidate)
        As for :func:`refit_reserve`.
    k : int
        Folds.
    row_ratio : float
        Rows of a fold's training set over the training rows the models were searched on.
    cap : float
        Upper bound in seconds.

    Returns
    -------
    float
    """
    ranked = sorted((item for item in scored if math.isfinite(item[0])), key=lambda item: -item[0])[:BAG_MODELS]
    return float(min(cap, k * sum(family.fold_seconds(c, row_ratio) for _, family, c in ranked)))


def bagging_floor(scored, k: int, row_ratio: float, search_seconds: float) -> float:
    """Seconds the search keeps free for bagging: :func:`bagging_reserve`, within
    [:data:`BAG_MIN_SHARE`, :data:`BAG_MAX_SHARE`] of ``search_seconds``."""
    cap = BAG_MAX_SHARE * search_seconds
    return float(max(BAG_MIN_SHARE * search_seconds, bagging_reserve(scored, k, row_ratio, cap)))


def family_floors(weights: Sequence[float], seconds: float) -> list[float]:
    """Seconds each family is guaranteed: :data:`MIN_SHARE` of its weighted part of ``seconds``.

    Examples
    --------
    >>> family_floors([1.0, 3.0], 100.0)
    [12.5, 37.5]
    """
    total = float(sum(weights)) or 1.0
    return [MIN_SHARE * seconds * w / total for w in weights]


def family_share(weights: Sequence[float], floors: Sequence[float], remaining: float) -> float:
    """Seconds for the first of the families still to run, out of ``remaining``.

    Its weighted part of what is left, so time a fast family leaves over flows
    on to the next ones; at least its floor, and never so much that the
    families after it lose their floors. When earlier families overran and the
    floors no longer fit, what is left is split in proportion to the floors.

    Parameters
    ----------
    weights, floors : sequence of float
        Of the families still to run, the first one first (see :func:`family_floors`).
    remaining : float
        Seconds left of the search budget.

    Returns
    -------
    float

    Examples
    --------
    >>> family_share([1.0, 1.0], [25.0, 25.0], 100.0)
    50.0
    """
    if remaining <= 0:
        return 0.0
    later = float(sum(floors[1:]))
    weighted = remaining * weights[0] / (float(sum(weights)) or 1.0)
    share = min(max(weighted, floors[0]), remaining - later)
    if share < floors[0]:
        share = remaining * floors[0] / (float(sum(floors)) or 1.0)
    return float(share)
