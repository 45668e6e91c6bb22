"""Benchmarks that print one JSON object each; results are recorded in BENCHMARKS.md."""
