import gc

from celery import signals


def test_a_worker_process_freezes_what_it_loaded_at_start():
    # Other tests start worker code in this process too; begin from nothing frozen.
    gc.unfreeze()
    try:
        signals.worker_process_init.send(sender=None)

        # Django, the apps and their modules are out of the collector's generations.
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
