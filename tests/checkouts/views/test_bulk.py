"""Bulk delete / anonymise: confirmation, a worker job enqueued on commit, progress, resuming."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from checkouts.models import AbandonedCheckout, BulkJob, WebhookEvent
from checkouts.services import bulk, bulk_job_create, bulk_job_run, bulk_jobs_resume
from tests.factories import AbandonedCheckoutFactory

pytestmark = pytest.mark.django_db


def test_bulk_delete_confirms_then_runs_in_the_worker(store, manager_client, django_capture_on_commit_callbacks):
    rows = AbandonedCheckoutFactory.create_batch(3, store=store, first_name="Grace")
    ids = [str(ac.pk) for ac in rows]

    confirm = manager_client.post("/checkouts/bulk/delete/", {"ids": ids, "back": "/checkouts/?q=grace"})
    html = confirm.content.decode()
    assert "Delete 3 abandoned checkouts?" in html and "Grace Hopper" in html
    assert 'name="confirm" value="yes"' in html and 'href="/checkouts/?q=grace"' in html
    assert AbandonedCheckout.objects.count() == 3

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = manager_client.post("/checkouts/bulk/delete/", {"ids": ids, "confirm": "yes"})
    assert len(callbacks) == 1  # the task is enqueued once the job row is committed
    job = BulkJob.objects.get()
    assert response["Location"] == f"/checkouts/bulk/{job.pk}/"
    assert AbandonedCheckout.objects.count() == 0
    assert WebhookEvent.objects.filter(type=WebhookEvent.Type.DELETED).count() == 3

    page = manager_client.get(response["Location"]).content.decode()
    assert "3 of 3 done (100%)" in page and 'hx-trigger="every 1s"' not in page


def test_bulk_anonymise(store, manager_client, django_capture_on_commit_callbacks):
    rows = AbandonedCheckoutFactory.create_batch(2, store=store, buyer_email="someone@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post("/checkouts/bulk/anonymise/", {"ids": [ac.pk for ac in rows], "confirm": "yes"})
    assert set(AbandonedCheckout.objects.values_list("buyer_email", flat=True)) == {""}
    assert AbandonedCheckout.objects.count() == 2


def test_an_unfinished_job_is_polled_by_htmx(store, manager_client):
    job = bulk_job_create(store=store, action=BulkJob.Action.DELETE, ids=[AbandonedCheckoutFactory(store=store).pk])
    page = manager_client.get(f"/checkouts/bulk/{job.pk}/").content.decode()
    assert f'hx-get="/checkouts/bulk/{job.pk}/" hx-trigger="every 1s"' in page
    assert "waiting for a worker" in page
    fragment = manager_client.get(f"/checkouts/bulk/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith(f'<div id="job-{job.pk}"') and "<html" not in fragment
    listing = manager_client.get("/checkouts/").content.decode()
    assert f'id="job-{job.pk}"' in listing  # the list shows work in progress too


def test_the_job_moves_a_chunk_at_a_time_and_counts_what_was_gone(store, monkeypatch):
    monkeypatch.setattr(bulk, "BULK_CHUNK", 2)
    rows = AbandonedCheckoutFactory.create_batch(5, store=store)
    job = bulk_job_create(store=store, action=BulkJob.Action.DELETE, ids=[ac.pk for ac in rows])
    AbandonedCheckout.objects.filter(pk=rows[3].pk).delete()  # gone before the worker got there

    seen = []
    real = bulk._WORK[BulkJob.Action.DELETE]

    def spy(**kwargs):
        seen.append(BulkJob.objects.get(pk=job.pk).done)
        return real(**kwargs)

    monkeypatch.setitem(bulk._WORK, BulkJob.Action.DELETE, spy)
    finished = bulk_job_run(job_id=job.pk)

    assert seen == [0, 0, 2, 2, 4]  # progress is saved after every chunk
    assert (finished.state, finished.done, finished.skipped) == (BulkJob.State.DONE, 5, 1)
    assert finished.finished_at is not None and not AbandonedCheckout.objects.exists()


def test_a_job_whose_worker_died_is_resumed_where_it_stopped(store, django_capture_on_commit_callbacks):
    rows = AbandonedCheckoutFactory.create_batch(3, store=store)
    job = bulk_job_create(store=store, action=BulkJob.Action.DELETE, ids=[ac.pk for ac in rows])
    AbandonedCheckout.objects.filter(pk=rows[0].pk).delete()
    BulkJob.objects.filter(pk=job.pk).update(
        state=BulkJob.State.RUNNING, done=1, heartbeat_at=timezone.now() - timedelta(minutes=10)
    )
    fresh = bulk_job_create(store=store, action=BulkJob.Action.DELETE, ids=[AbandonedCheckoutFactory(store=store).pk])

    with django_capture_on_commit_callbacks(execute=True):
        resumed = bulk_jobs_resume()

    assert resumed == 1  # the fresh job is not stale yet
    job.refresh_from_db()
    assert (job.state, job.done, job.skipped) == (BulkJob.State.DONE, 3, 0)
    assert BulkJob.objects.get(pk=fresh.pk).state == BulkJob.State.PENDING


def test_running_a_finished_job_again_does_nothing(store):
    job = bulk_job_create(store=store, action=BulkJob.Action.DELETE, ids=[AbandonedCheckoutFactory(store=store).pk])
    bulk_job_run(job_id=job.pk)
    again = bulk_job_run(job_id=job.pk)
    assert (again.done, again.skipped) == (1, 0)


def test_nothing_selected_goes_back_with_a_message(manager_client):
    response = manager_client.post("/checkouts/bulk/delete/", {"back": "/checkouts/?q=x"}, follow=True)
    assert response.redirect_chain[-1][0] == "/checkouts/?q=x"
    assert "Select at least one checkout first." in response.content.decode()


def test_the_way_back_never_leaves_the_dashboard(manager_client):
    response = manager_client.post("/checkouts/bulk/delete/", {"back": "https://evil.example/"})
    assert response["Location"] == "/checkouts/"


def test_a_selection_is_bounded(store):
    too_many = [uuid.uuid4() for _ in range(bulk.BULK_MAX_IDS + 1)]
    with pytest.raises(ValueError, match=f"at most {bulk.BULK_MAX_IDS:,}"):
        bulk_job_create(store=store, action=BulkJob.Action.DELETE, ids=too_many)
