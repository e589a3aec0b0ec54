"""Wix's own JavaScript SDK, unchanged, against a running Comeback.

`sdk/drive_sdk.mjs` uses @wix/sdk's ApiKeyStrategy (or AppStrategy, OAuth) and the abandoned-checkouts module's
request builders (get, the query builder with cursor paging, search, analytics, delete,
bulk delete, error handling) and reports what it got. Needs Node; the SDK's pinned
versions (sdk/package-lock.json) are installed with `npm ci` on first use. Skipped, saying
so, without Node or when the npm registry cannot be reached.
"""

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from checkouts.models import AbandonedCheckout
from checkouts.services import api_key_create
from checkouts.services.oauth import oauth_app_create
from tests.factories import AbandonedCheckoutFactory

SDK_DIR = Path(__file__).parent / "sdk"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="Node.js is not installed"),
]
START = datetime(2026, 10, 1, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def wix_sdk():
    if not (SDK_DIR / "node_modules" / "@wix" / "sdk").exists():
        installed = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=SDK_DIR, capture_output=True, text=True, timeout=300
        )
        if installed.returncode != 0:
            pytest.skip(f"Wix's SDK could not be installed: {installed.stderr[-500:]}")
    return SDK_DIR


@pytest.fixture
def shop(store, settings):
    settings.COMEBACK_API_RATE_LIMIT = "100000/minute"
    rows = [
        AbandonedCheckoutFactory(
            store=store,
            created_at=START + timedelta(hours=index),
            buyer_email=f"{'ada' if index % 3 else 'bob'}{index}@example.com",
            first_name="Ada" if index % 3 else "Bob",
            total=Decimal(10 + index),
            status="RECOVERED" if index % 4 == 0 else "ABANDONED",
            checkout_recovered_at=START + timedelta(days=2) if index % 4 == 0 else None,
        )
        for index in range(20)
    ]
    _, raw = api_key_create(store=store, name="sdk", scopes=["read", "delete"])
    return store, rows, raw


def drive(live_server, key, store, *ids) -> dict:
    result = subprocess.run(
        ["node", "drive_sdk.mjs", live_server.url, key, str(store.id), *ids],
        cwd=SDK_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def newest_first(rows) -> list[str]:
    return [str(ac.id) for ac in sorted(rows, key=lambda ac: (ac.created_at, ac.id), reverse=True)]


@pytest.fixture(params=["api-key", "app"])
def credentials(request, shop):
    """The same checks with an API key (ApiKeyStrategy) and with an app's OAuth token (AppStrategy)."""
    store, rows, key = shop
    if request.param == "api-key":
        return store, rows, key
    app, secret = oauth_app_create(name="sdk app", scopes=["read", "delete"], stores=[store])
    return store, rows, f"app:{app.client_id}:{secret}"


def test_wix_sdk_works_unchanged(wix_sdk, live_server, credentials):
    store, rows, key = credentials
    abandoned = [ac for ac in rows if ac.status == "ABANDONED"]
    target, to_delete, bulk = abandoned[-1], rows[5], [rows[6], rows[7]]
    media_id = "11062b_6f3c9a8e1d2b4c5f8a7e6d5c4b3a2f10~mv2.jpg"
    images = [{"id": "mug", "url": "https://shop.example/mug.png"}, {"id": media_id, "url": "https://x.example/a.jpg"}]
    AbandonedCheckout.objects.filter(pk=target.pk).update(
        line_items=[{"quantity": 1, "productName": {"original": "Mug"}, "image": image} for image in images]
    )
    report = drive(live_server, key, store, str(target.id), str(to_delete.id), f"{bulk[0].id},{bulk[1].id}")

    assert report["get"]["_id"] == str(target.id) and report["get"]["createdDate"] is True
    # A storefront's own image id would make the SDK hide the URL behind wix:image://; only Wix media ids go out.
    assert report["get"]["images"][0] == "https://shop.example/mug.png"
    assert report["get"]["images"][1].startswith(f"wix:image://v1/{media_id}")
    assert report["get"]["checkoutUrl"].endswith(f"/redirect-to-checkout?metasiteId={store.id}")
    assert report["getMissing"]["status"] == 404 and "NOT_FOUND" in report["getMissing"]["message"]

    assert report["firstPage"] == {"length": 7, "hasNext": True}
    assert report["queried"] == newest_first(abandoned)
    assert report["ascendingFirst"] == newest_first(rows)[::-1][:3]
    prefix = target.buyer_email[:4]
    assert report["byEmailPrefix"] == newest_first([ac for ac in rows if ac.buyer_email.startswith(prefix)])
    assert report["badField"]["status"] == 400 and "checkoutId" in report["badField"]["message"]

    assert report["searched"] == newest_first([ac for ac in abandoned if ac.first_name == target.first_name])
    assert report["searchCount"] == len(report["searched"])

    recovered = [ac for ac in rows if ac.status == "RECOVERED"]
    assert report["analytics"]["recoverableCheckoutCount"] == len(abandoned)
    assert report["analytics"]["recoveredValue"] == f"{sum(ac.total for ac in recovered):.2f}"
    assert report["analytics"]["recoveryRate"] == pytest.approx(len(recovered) / len(rows))

    assert report["deleteAgain"]["status"] == 404
    assert report["bulk"]["bulkActionMetadata"]["totalSuccesses"] == 2
    assert not AbandonedCheckout.objects.filter(pk__in=[to_delete.pk, *(ac.pk for ac in bulk)]).exists()
    # The SDK repeats the id in the query string of GET and DELETE; the API ignores it.
    assert f"GET /ecom/v1/abandoned-checkout/{target.id}?abandonedCheckoutId={target.id}" in report["requests"]
    # AppStrategy asks for its token once and reuses it for its expires_in (14,400 s).
    token_requests = report["requests"].count("POST /oauth2/token")
    assert token_requests == (1 if key.startswith("app:") else 0)
