"""Building targeting conditions on the automation page: saved as typed, refused with a message
on the field at fault, and nothing half-saved."""

from decimal import Decimal

import pytest
from django.urls import reverse

from automations.models import Automation
from tests.automations.browser_form import form_submission
from tests.automations.helpers import email_step, only_automation

pytestmark = pytest.mark.django_db


@pytest.fixture
def edit(client, store, owner):
    automation = only_automation(store, name="Win back")
    email_step(automation)
    client.force_login(owner)
    return automation, reverse("automations:edit", args=[automation.pk])


def submit(client, url: str, **changes):
    data = form_submission(client.get(url).content, "automation-form")
    data.update({name: [value] for name, value in changes.items()})
    return client.post(url, data)


def test_a_merchant_sets_conditions_on_the_automation_and_on_a_step(client, edit):
    automation, url = edit
    page = client.get(url).content.decode()
    assert "Who this automation is for" in page and "Conditions for this step" in page
    # The automation's shown unfolded; the step's, the spare's and the "Add a step" template's
    # folded while none is set.
    assert page.count('<details class="conditions" open>') == 1 and page.count('<details class="conditions">') == 3

    response = submit(
        client,
        url,
        min_total="20",
        max_total="500",
        currencies="eur usd, EUR",
        buyer="RETURNING",
        **{
            "steps-0-products_included": "SKU-1, prod-2\nSKU-1",
            "steps-0-products_excluded": "GIFT-CARD",
            "steps-0-require_phone": "on",
            "steps-0-min_items": "2",
            "steps-0-max_items": "2",
        },
    )

    assert response.status_code == 302
    automation.refresh_from_db()
    assert (automation.min_total, automation.max_total) == (Decimal("20"), Decimal("500"))
    assert (automation.currencies, automation.buyer) == ("EUR, USD", "RETURNING")
    step = automation.steps.get()
    assert (step.products_included, step.products_excluded) == ("SKU-1\nprod-2", "GIFT-CARD")
    assert (step.require_phone, step.min_items, step.max_items) == (True, 2, 2)
    assert client.get(url).content.decode().count('<details class="conditions" open>') == 2


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"min_total": "100", "max_total": "99.99"}, "id_max_total", "Must not be below the minimum cart total (100"),
        ({"min_total": "-1"}, "id_min_total", "greater than or equal to 0"),
        ({"currencies": "EUR, EURO"}, "id_currencies", "“EURO” is not a currency code"),
        (
            {"steps-0-min_items": "3", "steps-0-max_items": "2"},
            "id_steps-0-max_items",
            "Must not be below the minimum number of items (3)",
        ),
        (
            {"steps-0-products_included": "SKU-1", "steps-0-products_excluded": "sku-1"},
            "id_steps-0-products_excluded",
            "cannot both contain and not contain sku-1",
        ),
        ({"steps-0-products_included": "x" * 101}, "id_steps-0-products_included", "longer than a product id"),
        ({"steps-0-buyer": "SOMETIMES"}, "id_steps-0-buyer", "Select a valid choice"),
    ],
)
def test_a_bad_condition_is_refused_on_its_field_and_nothing_is_saved(client, edit, changes, field_id, message):
    automation, url = edit
    response = submit(client, url, name="Renamed", **changes)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="{field_id}_error"' in page
    error = page.split(f'id="{field_id}_error">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert Automation.objects.get(pk=automation.pk).name == "Win back"


def test_the_automation_page_says_who_it_runs_for_and_each_steps_conditions(client, store, owner):
    automation = only_automation(store, name="Big carts", min_total=Decimal("20"), currencies="EUR", buyer="RETURNING")
    email_step(automation, products_excluded="GIFT-1\nGIFT-2", min_items=2, require_phone=True)
    client.force_login(owner)
    page = client.get(reverse("automations:detail", args=[automation.pk])).content.decode()
    assert "worth at least $20.00, in EUR, from returning buyers." in page
    assert (
        "Only for checkouts holding none of GIFT-1, GIFT-2, whose buyer left a phone number, with at least 2 items."
        in page
    )
