"""sdx: a system design interview expert in your terminal."""

__version__ = "0.1.0"
