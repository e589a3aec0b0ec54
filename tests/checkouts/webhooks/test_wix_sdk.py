"""Wix's own SDK as the receiver: `client.webhooks.process(body)` with the store's public key.

@wix/sdk and the abandoned-checkouts module are installed from npm into a temporary folder
the first time (reused afterwards); without Node or the registry the test is skipped, saying why.
"""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

from checkouts.models import AbandonedCheckout
from checkouts.services import abandoned_checkout_delete, abandoned_checkout_recover
from checkouts.webhooks.services import webhook_endpoint_send_test

from .helpers import abandoned, record, sweep

pytestmark = pytest.mark.django_db
PACKAGES = ["@wix/sdk@^1.21", "@wix/auto_sdk_ecom_abandoned-checkouts@^1.0.86"]
RECEIVER = Path(__file__).with_name("wix_sdk_receiver.mjs")


@pytest.fixture(scope="session")
def wix_sdk() -> Path:
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("Node.js and npm are not installed, so Wix's SDK cannot run")
    folder = Path(tempfile.gettempdir()) / "comeback-wix-sdk"
    if not (folder / "node_modules" / "@wix" / "auto_sdk_ecom_abandoned-checkouts").exists():
        folder.mkdir(exist_ok=True)
        (folder / "package.json").write_text('{"name": "comeback-wix-sdk-check", "private": true, "type": "module"}')
        try:
            installed = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=240,
            )
        except subprocess.TimeoutExpired:
            pytest.skip("the npm registry did not answer in time, so @wix/sdk could not be installed")
        if installed.returncode != 0:
            pytest.skip(f"@wix/sdk could not be installed from npm: {installed.stderr.strip()[-300:]}")
    shutil.copy(RECEIVER, folder / RECEIVER.name)
    return folder


def run_sdk(folder: Path, *, public_key: str, bodies: list[str]) -> dict:
    request = folder / "input.json"
    request.write_text(
        json.dumps({"appId": settings.COMEBACK_WEBHOOK_APP_ID, "publicKey": public_key, "bodies": bodies})
    )
    done = subprocess.run(["node", RECEIVER.name, request.name], cwd=folder, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_wixs_sdk_accepts_every_delivery_and_hands_over_the_sdk_shaped_entity(
    wix_sdk, store, wix_endpoint, receiver, django_capture_on_commit_callbacks
):
    ac = abandoned(store, buyer_email="ada@example.com")
    record(ac, "created", 1)
    AbandonedCheckout.objects.filter(pk=ac.pk).update(event_sequence=2)
    record(ac, "updated", 2)
    with django_capture_on_commit_callbacks(execute=True):
        abandoned_checkout_recover(abandoned_checkout_id=ac.pk, order_id="order-9")
        abandoned_checkout_delete(abandoned_checkout_id=ac.pk, store=store)
        webhook_endpoint_send_test(endpoint=wix_endpoint)
    while sweep():
        pass

    bodies = [request.body.decode() for request in receiver.received]
    assert len(bodies) == 6
    outcome = run_sdk(wix_sdk, public_key=store.webhook_public_key, bodies=bodies)

    assert outcome["results"] == ["ok"] * 6
    handled = outcome["handled"]
    life = [h for h in handled if h["id"] == str(ac.pk)]
    assert [(h["kind"], h["sequence"]) for h in life] == [
        ("created", "1"),
        ("updated", "2"),
        ("recovered", "3"),
        ("updated", "4"),
        ("deleted", "5"),
    ]
    for h in handled:
        assert h["createdDateIsDate"] and h["eventTimeIsDate"]  # the SDK turned REST timestamps into Dates
        assert h["instanceId"] == str(store.pk) and h["entityId"] == h["id"]
        assert h["identity"] == {"identityType": "APP", "appId": settings.COMEBACK_WEBHOOK_APP_ID}
    assert life[0]["email"] == "ada@example.com" and life[0]["status"] == "ABANDONED"
    assert life[2]["status"] == "RECOVERED"
    (sample,) = [h for h in handled if h["id"] != str(ac.pk)]
    assert sample["kind"] == "created" and sample["email"] == "test.buyer@example.com"


def test_wixs_sdk_rejects_a_changed_body_or_another_stores_key(wix_sdk, store, other_store, wix_endpoint, receiver):
    record(abandoned(store))
    sweep()
    (request,) = receiver.received
    token = request.body.decode()
    header, claims, signature = token.split(".")
    forged = f"{header}.{claims[:-2]}{'A' if claims[-2] != 'A' else 'B'}{claims[-1]}.{signature}"

    outcome = run_sdk(wix_sdk, public_key=store.webhook_public_key, bodies=[token, forged])
    assert outcome["results"][0] == "ok" and outcome["results"][1].startswith("error")
    outcome = run_sdk(wix_sdk, public_key=other_store.webhook_public_key, bodies=[token])
    assert outcome["results"][0].startswith("error") and outcome["handled"] == []
