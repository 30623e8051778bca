"""The network search space as plain data, sized to the data set.

The space is a dict ``name -> spec`` that :class:`~automl.search.hypermodel.TabularHyperModel`
turns into KerasTuner hyperparameters. Keeping it as data (FLAML's
``search_space(data_size, task)`` idea) lets the ranges depend on the row count,
lets users override single entries with ``search_space=``, and keeps this module
free of Keras so that validating user input is instant.

Spec forms (what :func:`resolve_search_space` accepts for each key):

* a list, e.g. ``[64, 128]``: choose one of these values;
* a ``(low, high)`` tuple: a range (integers if both ends are integers; the
  default's log/linear sampling is kept for floats);
* a dict with ``min``/``max`` (and optional ``step``, ``sampling``, ``default``)
  or ``values`` (and optional ``default``): the full form;
* a single value, e.g. ``"relu"`` or ``0.2``: fixed, not searched.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from ..errors import InputError

__all__ = ["SPACE_KEYS", "ACTIVATIONS", "OPTIMIZERS", "SHAPES", "default_search_space", "resolve_search_space",
           "describe_search_space"]

ACTIVATIONS = ("relu", "gelu", "swish", "silu", "elu", "selu", "tanh", "leaky_relu", "mish")
OPTIMIZERS = ("adam", "adamw", "rmsprop", "nadam", "sgd")
SHAPES = ("constant", "funnel")

SPACE_KEYS = {
    "layers": "number of hidden layers",
    "units": "width of the first hidden layer",
    "shape": "'constant' (every layer as wide as the first) or 'funnel' (each layer half the previous)",
    "activation": "hidden-layer activation",
    "dropout": "dropout rate after every hidden layer",
    "l2": "L2 weight decay on every hidden kernel",
    "batch_norm": "batch normalisation before each activation",
    "learning_rate": "initial learning rate (reduced on plateaus during training)",
    "optimizer": "optimizer name",
    "batch_size": "rows per gradient step",
}


def _choice(values, default=None) -> dict:
    values = list(values)
    return {"type": "choice", "values": values, "default": values[0] if default is None else default}


def _batch_sizes(n_rows: int, accelerator: bool = False) -> list[int]:
    # Aim at roughly 30-100 steps per epoch: small data needs small batches to
    # learn at all, large data needs large ones to keep epochs cheap. An
    # accelerator finishes a small MLP's step faster than the host can issue
    # the next one below a few thousand rows: 4x larger batches on large data.
    base = 2 ** round(math.log2(max(n_rows, 1) / 60.0)) if n_rows > 0 else 32
    top = 4096 if accelerator else 1024
    base = int(min(max(base, 32), top))
    return sorted({max(16, base // 2), base, min(2 * top, base * 2)})


def default_search_space(n_rows: int, n_features: int, task: str, accelerator: bool = False) -> dict[str, dict]:
    """The built-in network search space for ``n_rows`` training rows.

    Parameters
    ----------
    n_rows : int
        Training rows the networks will see.
    n_features : int
        Columns of the prepared matrix.
    task : {'binary', 'multiclass', 'regression'}
    accelerator : bool, default=False
        The networks train on a GPU/TPU: larger batches on large data (up to
        8192 rows instead of 2048), so each step gives the device enough work.

    Returns
    -------
    dict of str to dict
        One spec per key of :data:`SPACE_KEYS` (``type`` plus its values/range and ``default``).

    Examples
    --------
    >>> space = default_search_space(20_000, 30, "binary")
    >>> space["batch_size"]["values"]
    [128, 256, 512]
    """
    if n_rows < 1000:
        units = [16, 32, 64, 128]
    elif n_rows < 50_000:
        units = [32, 64, 128, 256]
    else:
        units = [64, 128, 256, 512]
    # Wide inputs deserve a first layer at least about as wide as the input.
    if n_features > 2 * units[-1]:
        units = units[1:] + [units[-1] * 2]
    batches = _batch_sizes(n_rows, accelerator)
    return {
        "layers": {"type": "int", "min": 1, "max": 4 if n_rows >= 50_000 else 3, "step": 1, "default": 2},
        "units": _choice(units, default=units[2]),
        "shape": _choice(SHAPES, default="constant"),
        "activation": _choice(["relu", "gelu", "swish"], default="relu"),
        "dropout": {"type": "float", "min": 0.0, "max": 0.5, "step": 0.05, "sampling": "linear", "default": 0.1},
        "l2": {"type": "float", "min": 1e-6, "max": 1e-2, "sampling": "log", "default": 1e-5},
        "batch_norm": {"type": "boolean", "default": False},
        "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log", "default": 1e-3},
        "optimizer": _choice(["adam", "adamw", "rmsprop"], default="adam"),
        "batch_size": _choice(batches, default=batches[len(batches) // 2]),
    }


def _bad(key: str, problem: str) -> InputError:
    return InputError(f"`search_space[{key!r}]` {problem}. See docs/search.md for the accepted forms.")


def _check_value(key: str, value: Any) -> Any:
    """One candidate value of ``key``: its type and range."""
    if key in ("layers", "units", "batch_size"):
        if isinstance(value, bool) or not isinstance(value, int) and not (isinstance(value, float)
                                                                          and value.is_integer()):
            raise _bad(key, f"must hold whole numbers, got {value!r}")
        value = int(value)
        low, high = {"layers": (0, 16), "units": (1, 65536), "batch_size": (1, 1 << 20)}[key]
        if not low <= value <= high:
            raise _bad(key, f"must lie in [{low}, {high}], got {value}")
        return value
    if key in ("dropout", "l2", "learning_rate"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _bad(key, f"must hold finite numbers, got {value!r}")
        value = float(value)
        if key == "dropout" and not 0.0 <= value < 1.0:
            raise _bad(key, f"must lie in [0, 1), got {value}")
        if key == "l2" and value < 0:
            raise _bad(key, f"must be >= 0, got {value}")
        if key == "learning_rate" and value <= 0:
            raise _bad(key, f"must be > 0, got {value}")
        return value
    if key == "batch_norm":
        if not isinstance(value, bool):
            raise _bad(key, f"must hold True/False, got {value!r}")
        return value
    allowed = {"shape": SHAPES, "activation": ACTIVATIONS, "optimizer": OPTIMIZERS}[key]
    if value not in allowed:
        close = difflib.get_close_matches(str(value), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise _bad(key, f"must hold values from {list(allowed)}, got {value!r}{hint}")
    return value


def _resolve_entry(key: str, spec: Any, default: dict) -> dict:
    if isinstance(spec, dict):
        unknown = set(spec) - {"type", "values", "default", "min", "max", "step", "sampling", "value"}
        if unknown:
            raise _bad(key, f"has unknown fields {sorted(unknown)}; use values/default or min/max/step/sampling")
        if "value" in spec:
            return {"type": "fixed", "value": _check_value(key, spec["value"])}
        if "values" in spec:
            entry = _resolve_entry(key, list(spec["values"]), default)
        elif "min" in spec and "max" in spec:
            entry = _resolve_entry(key, (spec["min"], spec["max"]), default)
            if "step" in spec and spec["step"] is not None:
                entry["step"] = spec["step"]
            if "sampling" in spec:
                if spec["sampling"] not in ("linear", "log"):
                    raise _bad(key, f"sampling must be 'linear' or 'log', got {spec['sampling']!r}")
                entry["sampling"] = spec["sampling"]
        else:
            raise _bad(key, "must give either `values` or both `min` and `max`")
        if "default" in spec:
            entry["default"] = _check_value(key, spec["default"])
            if entry["type"] == "choice" and entry["default"] not in entry["values"]:
                raise _bad(key, f"default {spec['default']!r} is not one of its values {entry['values']}")
        return entry
    if isinstance(spec, list):
        if not spec:
            raise _bad(key, "is an empty list; give at least one value")
        values = []
        for v in spec:
            v = _check_value(key, v)
            if v not in values:
                values.append(v)
        if key == "batch_norm":
            return {"type": "boolean", "default": values[0]} if len(values) == 2 else \
                {"type": "fixed", "value": values[0]}
        keep = default.get("default")
        return {"type": "choice", "values": values, "default": keep if keep in values else values[0]}
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise _bad(key, f"as a tuple must be (low, high), got {spec!r}")
        if key in ("shape", "activation", "optimizer", "batch_norm"):
            raise _bad(key, "is categorical: give a list of values, not a (low, high) range")
        low, high = (_check_value(key, v) for v in spec)
        if low > high:
            raise _bad(key, f"has low {low} > high {high}")
        if key in ("layers", "units", "batch_size"):
            entry = {"type": "int", "min": int(low), "max": int(high), "step": 1,
                     "sampling": "log" if key != "layers" and high >= 4 * max(low, 1) else "linear"}
        else:
            sampling = default.get("sampling", "linear")
            if sampling == "log" and low <= 0:
                sampling = "linear"
            entry = {"type": "float", "min": float(low), "max": float(high), "sampling": sampling}
        keep = default.get("default")
        entry["default"] = keep if keep is not None and low <= keep <= high else low
        return entry
    return {"type": "fixed", "value": _check_value(key, spec)}


def resolve_search_space(overrides: dict | None, defaults: dict[str, dict]) -> dict[str, dict]:
    """Merge the user's ``search_space=`` overrides into ``defaults``, checking every entry.

    Parameters
    ----------
    overrides : dict or None
        Keys from :data:`SPACE_KEYS`; values in any form described in the module docstring.
    defaults : dict
        Output of :func:`default_search_space`.

    Returns
    -------
    dict of str to dict

    Raises
    ------
    InputError
        For an unknown key (with a suggestion) or a value of the wrong type or range.

    Examples
    --------
    >>> space = resolve_search_space({"layers": (1, 2), "activation": "gelu"},
    ...                              default_search_space(500, 10, "binary"))
    >>> space["activation"]
    {'type': 'fixed', 'value': 'gelu'}
    """
    space = {k: dict(v) for k, v in defaults.items()}
    if overrides is None:
        return space
    if not isinstance(overrides, dict):
        raise InputError(f"`search_space` must be a dict such as {{'layers': (1, 3), 'dropout': [0.0, 0.3]}}, "
                         f"got {type(overrides).__name__}.")
    for key, spec in overrides.items():
        if key not in SPACE_KEYS:
            close = difflib.get_close_matches(str(key), list(SPACE_KEYS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InputError(f"`search_space` has an unknown key {key!r}; known keys: {list(SPACE_KEYS)}.{hint}")
        space[key] = _resolve_entry(key, spec, defaults.get(key, {}))
    return space


def describe_search_space(space: dict[str, dict]) -> dict[str, str]:
    """A readable one-line description per key (for docs, reports and ``repr``)."""
    out = {}
    for key, spec in space.items():
        kind = spec["type"]
        if kind == "fixed":
            out[key] = f"fixed {spec['value']!r}"
        elif kind == "choice":
            out[key] = f"one of {spec['values']} (default {spec['default']!r})"
        elif kind == "boolean":
            out[key] = f"True or False (default {spec['default']!r})"
        else:
            out[key] = (f"{spec['min']} to {spec['max']}"
                        f"{' by ' + str(spec['step']) if spec.get('step') else ''}"
                        f"{', log scale' if spec.get('sampling') == 'log' else ''} (default {spec['default']!r})")
    return out
