"""Benchmarks that print figures (SPEC §10); never timed assertions."""
