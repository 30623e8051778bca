"""Keep TensorFlow's start-up lines out of the user's terminal and notebook.

Importing TensorFlow (which Keras does on first use) prints, from C++ and
before any Python setting can reach it, lines such as ``WARNING: All log
messages before absl::InitializeLog() is called are written to STDERR`` and
``I0000 ... oneDNN custom operations are on``; ``TF_CPP_MIN_LOG_LEVEL`` does
not silence them in TensorFlow 2.20. :func:`install` (called by ``import
automl``) adds an import hook that, the first time ``tensorflow`` is imported
by anyone, sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless the user chose a level, and
points the process's standard error at ``/dev/null`` while TensorFlow's
package initialises (the few seconds of the import), then restores it. An
error raised by the import still propagates and prints as usual.

It also drops TensorFlow's Python warning about ``tf.function`` retracing,
which every bag or ensemble of networks triggers (one trace per model).

Verbose logs: set ``AUTOML_TF_LOGS=1`` (or ``TF_CPP_MIN_LOG_LEVEL=0``) before
importing automl, or import TensorFlow before automl.
"""

from __future__ import annotations

import importlib.abc
import logging
import importlib.machinery
import os
import sys

__all__ = ["install", "wanted"]


def wanted() -> bool:
    """True unless the user asked for TensorFlow's own logs."""
    return os.environ.get("AUTOML_TF_LOGS", "") in ("", "0") and os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "0"


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):  # noqa: D102
        return self._loader.create_module(spec)

    def exec_module(self, module):  # noqa: D102
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no real stderr (some notebook or service hosts)
            self._loader.exec_module(module)
            return
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
            self._loader.exec_module(module)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(null)
        logging.getLogger("tensorflow").addFilter(_drop_retracing_notes)


def _drop_retracing_notes(record: logging.LogRecord) -> bool:
    """Drop TensorFlow's "N out of the last M calls ... triggered tf.function retracing" warning.

    A bag of k fold networks, an ensemble or a search traces one predict
    function per model, by design; TensorFlow counts those as retracing and
    warns in the user's notebook about code that is not theirs.
    """
    return "triggered tf.function retracing" not in record.getMessage()


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):  # noqa: D102
        if fullname != "tensorflow":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # once: later imports are plain
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None and wanted():
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Add the import hook, unless TensorFlow is already imported or verbose logs are wanted."""
    if "tensorflow" in sys.modules or not wanted():
        return
    if not any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())
