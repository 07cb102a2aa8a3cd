"""Builders shared by the tests: what a test imports instead of a conftest.

- accounts.py: PASSWORD, token_client;
- evaluations.py: slices of the evaluation data, make_setup (a suite on the tiny model),
  quick_suite, finished_run;
- reports.py: make_world (a documented model with runs, ready for cards), check_metrics;
- items.py: engine items (no Django);
- browser.py: the per-page checks of the browser tests;
- processes.py: real Celery worker and beat processes, and waits on them.

Two modules are pytest plugins (registered in tests/conftest.py), for fixtures shared by
several test directories: workers.py (tiny_model_path, broker, celery, embedded) and
cards.py (world, fast_pdf, draft). Factories for every model are in tests/factories.py.
"""
