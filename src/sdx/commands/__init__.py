"""The commands' flows: each gathers its input, runs turns through `sdx.turn`, and reports.

Imported lazily by `sdx.cli`, so a command pays only for what it uses.
"""
