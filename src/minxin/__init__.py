"""minxin (民心): an open-source platform for service hotlines."""

__version__ = "0.1.0"
