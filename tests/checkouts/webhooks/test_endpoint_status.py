"""The endpoint's status badge says how long it has been failing, never "0 minutes"."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from checkouts.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("ago", "badge"),
    [(timedelta(seconds=20), "Failing for less than a minute"), (timedelta(minutes=5), "Failing for 5\xa0minutes")],
)
def test_a_failing_endpoint_says_for_how_long(manager_client, endpoint, ago, badge):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - ago)

    html = manager_client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()

    assert badge in html and "0\xa0minutes" not in html
