"""Benchmarks: run as scripts (`python bench/NAME.py`); they measure and print, never assert."""
