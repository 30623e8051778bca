"""Exceptions and warnings raised by automl.

Every problem with what the user passed is an :class:`InputError` whose
message names the column or argument and says how to fix it. Warnings carry
a category so they can be filtered, and are raised with ``stacklevel`` that
points at the user's call.
"""

from __future__ import annotations

import warnings

__all__ = [
    "InputError",
    "IntegrityError",
    "AutomlWarning",
    "DataWarning",
    "SearchWarning",
    "warn",
]


class InputError(ValueError):
    """Bad input from the user: a column, an argument or a file.

    The message names what is wrong and what to do about it.
    """


class IntegrityError(InputError):
    """A saved result that cannot be trusted: tampered, incomplete or incompatible."""


class AutomlWarning(UserWarning):
    """Base class of every warning automl emits."""


class DataWarning(AutomlWarning):
    """Something was done to the user's data (rows dropped, columns ignored...)."""


class SearchWarning(AutomlWarning):
    """The model search had to cut corners (budget, failed trials, sampling)."""


def warn(message: str, category: type[Warning] = AutomlWarning, stacklevel: int = 3) -> None:
    """Emit ``message`` pointing, by default, at the caller of the public function."""
    warnings.warn(message, category, stacklevel=stacklevel)
