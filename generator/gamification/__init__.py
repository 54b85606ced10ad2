"""Generator and tooling for the `gamification` PostgreSQL extension.

The extension's SQL lives in Jinja2 templates under ``sql/``; this package renders
them into the versioned scripts under ``extension/`` (``build``), verifies that the
committed scripts are exactly what it would render and that released scripts never
change (``check``), installs them into a server (``install``), and runs throwaway
servers for the demo, the tests and the benchmarks (``server``).
"""
