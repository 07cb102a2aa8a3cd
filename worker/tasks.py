"""Thin Celery tasks: load rows by id, call one service, record the outcome."""
