"""Benchmarks of the real app; run as `python -m bench.<name>` (see bench/README.md)."""
