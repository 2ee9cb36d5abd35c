"""sdx: a system design interview expert in your terminal."""

__version__ = "0.2.0"
DISTRIBUTION = "sdx-interview"  # the name on the package index; the command is `sdx`
