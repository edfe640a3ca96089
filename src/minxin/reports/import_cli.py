"""``minxin import FILE`` as a CLI module for ``wiring.CLI_MODULES`` (which reads ``app``)."""

from minxin.reports.cli import import_app as app

__all__ = ["app"]
