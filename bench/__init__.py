"""Benchmarks: scripts, not tests. Each starts its own Redis and processes and stops them after.

- `python -m bench.ingest`: webhook requests/s and p99 under gunicorn, against two baselines.
- `python -m bench.apply`: events applied per second by one worker, against a no-op actor.
- `python -m bench.sweep`: how the clock's search for due work scales with tracked commands.

Results go to stdout and to `bench/results/<name>.json`; BENCHMARKS.md records a run.
"""
