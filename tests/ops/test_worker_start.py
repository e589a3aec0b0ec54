import gc

from celery import signals


def test_a_worker_process_freezes_what_it_loaded_at_start():
    before = gc.get_freeze_count()
    try:
        signals.worker_process_init.send(sender=None)

        # Django, the apps and their modules are out of the collector's generations.
        assert gc.get_freeze_count() - before > 10_000
    finally:
        gc.unfreeze()
