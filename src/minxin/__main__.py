"""``python -m minxin`` is the ``minxin`` command."""

from minxin.cli import main

main()
