"""The demo: stores, a login and months of history for `make run` and the million-row benchmarks.

It writes through both apps (`checkouts` and `automations`), so it lives here, above them, and
neither app carries demo code. `manage.py seed_demo` is its command.
"""
