"""Reports and dashboards: is first-level support doing its job?

Metrics come from daily rollups (`rollup`, rebuilt by the scheduler) or, for filtered questions,
straight from the raw tickets (`facts`); both are summed by one aggregator (`metrics`), so they
agree by construction and a test holds them to it.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from reports import models  # noqa: F401
