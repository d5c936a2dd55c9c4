"""Kempelen: the open-source Mechanical Turk."""

__version__ = "0.1.0"
