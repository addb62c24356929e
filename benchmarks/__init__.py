"""Side-by-side benchmarks of the shared-memory camera pipeline; run with `make bench` (see benchmarks/run.py)."""
