import gc

import pytest
from celery import signals

from config.celery_app import child_heap_freeze, startup_heap_freeze


@pytest.fixture
def nothing_frozen():
    # Other tests run worker code in this process too; begin and end with nothing frozen.
    gc.unfreeze()
    yield
    gc.unfreeze()


def _receivers(signal) -> list:
    return [ref() for _, ref in signal.receivers]


@pytest.mark.parametrize(
    ("signal", "receiver"),
    [(signals.worker_init, startup_heap_freeze), (signals.worker_process_init, child_heap_freeze)],
    ids=["worker, before the pool forks", "pool child"],
)
def test_a_worker_freezes_what_it_loaded_at_start(nothing_frozen, signal, receiver):
    # Connected, not sent: Celery's Django fix-up also listens to worker_init and would
    # close this test's database connections.
    assert receiver in _receivers(signal)

    receiver()

    # Django, the apps and their modules are out of the collector's generations.
    assert gc.get_freeze_count() > 10_000


def test_a_worker_loads_the_urlconf_before_its_first_task(nothing_frozen):
    from django.urls import clear_url_caches, get_resolver

    clear_url_caches()
    assert not get_resolver()._populated

    startup_heap_freeze()

    # Its first email reverses links without importing the API's views under a batch's locks.
    assert get_resolver()._populated
