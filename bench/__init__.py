"""Benchmarks behind scripts/bench_*: each measures Hearth against a baseline in the same run."""
