"""offboard: the exit lifecycle of enterprise workspace members."""

__version__ = "0.1.0"
