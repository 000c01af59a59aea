"""Fixtures of the pipeline tests; the harness behind them is in pipeline_harness.py."""

from pipeline_harness import groovy, mariadb, platform

__all__ = ["groovy", "mariadb", "platform"]
