"""Standalone HTML reports: one file with the figures of :mod:`automl.viz`, viewable offline.

>>> result.report("report.html")          # doctest: +SKIP
>>> from automl.report import Section, render_report
>>> render_report("mine.html", title="My report", sections=[Section("a", "A", figures=[fig])])  # doctest: +SKIP
"""

from __future__ import annotations

from .cluster_report import write_cluster_report
from .fit_report import write_fit_report
from .render import Section, render_report

__all__ = ["Section", "render_report", "write_fit_report", "write_cluster_report"]
