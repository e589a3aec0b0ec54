"""The buyer's language, whole: our own words in recovery emails, texts and buyer pages come from the
catalogues in locale/, and no English is left in a French email."""

import gettext
import html
import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings

from automations.messages import defaults
from automations.messages.render import EmailTemplate, recovery_email, step_template, text_message
from checkouts.wix import multi_currency_price
from tests.automations.helpers import email_step, only_automation
from tests.checkouts.views.conftest import line_item
from tests.factories import AbandonedCheckoutFactory

pytestmark = pytest.mark.django_db

LOCALE = Path(settings.BASE_DIR) / "locale"
# The files whose words a buyer reads.
BUYER_FILES = (
    "templates/automations/emails/",
    "templates/automations/unsubscribe.html",
    "templates/checkouts/redirect_unavailable.html",
    "templates/base.html",
    "automations/messages/",
)
SHIPPED = [code for code, _ in settings.LANGUAGES if code != "en"]


def catalogue(language: str):
    with open(LOCALE / language / "LC_MESSAGES" / "django.po", "rb") as po:
        return read_po(po, locale=language)


def used_in(message, prefix: str) -> bool:
    return any(path.startswith(prefix) for path, _ in message.locations)


def french_email(store):
    ac = AbandonedCheckoutFactory(
        store=store,
        buyer_language="fr",
        currency="EUR",
        first_name="Camille",
        subtotal=Decimal("117.50"),
        total=Decimal("120.50"),
        shipping=Decimal("5.00"),
        tax=Decimal("8.00"),
        line_items=[
            line_item(
                "Veste de pluie",
                2,
                "40.00",
                descriptionLines=[{"name": {"original": "Size"}, "plainText": {"original": "M"}}],
            ),
            line_item("Bonnet", 3, "12.50"),
        ],
        applied_discounts=[{"coupon": {"code": "BIENVENUE", "amount": {"amount": "10"}}}],
    )
    subject, body = defaults.EMAIL_TRANSLATIONS["fr"]
    # With a discount code: its block's words are the layout's too.
    return recovery_email(
        abandoned_checkout=ac,
        store=store,
        template=EmailTemplate(subject, body, "fr"),
        idempotency_key="k",
        discount_code="REVIENS-10",
    )


@pytest.mark.parametrize("part", ["text", "html"])
def test_no_english_is_left_in_a_french_email(store, part):
    store.name = "Maison Lumière"
    email = french_email(store)
    output = email.text if part == "text" else html.unescape(email.html)
    template = f"templates/automations/emails/recovery.{'txt' if part == 'text' else 'html'}"
    messages = [m for m in catalogue("fr") if m.id and used_in(m, template)]
    assert len(messages) >= 8  # the layout's words: totals, button, footer, ...
    for message in messages:
        assert message.string, f"{message.id!r} has no French translation"
        french = message.string % {"store_name": store.name}
        assert french in output, f"{french!r} is missing from the French email"
        if message.string != message.id:  # "Total" is French too
            english = re.escape(message.id % {"store_name": store.name})
            assert not re.search(rf"\b{english}\b", output), f"English {message.id!r} is in the French email"
    # The words our code adds (a coupon's label, a product option's name) come from the catalogue too.
    assert "Code promo BIENVENUE" in output and "Coupon" not in output
    assert "Taille: M" in output and "Size" not in output
    # The merchant's default words in French, and French money.
    assert "Bonjour Camille," in output and "Hi " not in output
    assert "−10,00\u00a0€" in output and "120,50\u00a0€" in output


def test_the_email_switches_language_and_back(store):
    french_email(store)
    ac = AbandonedCheckoutFactory(store=store, buyer_language="en")
    english = recovery_email(abandoned_checkout=ac, store=store, template=EmailTemplate("S", "B"), idempotency_key="e")
    assert "Complete your order" in english.text and "Finalisez" not in english.text


@pytest.mark.parametrize("language", SHIPPED)
def test_every_buyer_facing_word_is_translated_in_every_shipped_language(language):
    messages = [m for m in catalogue(language) if m.id and any(used_in(m, prefix) for prefix in BUYER_FILES)]
    assert messages
    untranslated = [m.id for m in messages if not m.string or m.fuzzy]
    assert untranslated == []
    for message in messages:  # a placeholder lost in translation would print the English name or fail
        assert set(re.findall(r"%\(\w+\)s", message.id)) == set(re.findall(r"%\(\w+\)s", message.string))


@pytest.mark.parametrize("language", SHIPPED)
def test_the_committed_mo_files_are_compiled_from_the_po_files(language):
    """CI needs no msgfmt: the .mo files are committed, and must say what the .po files say."""
    with open(LOCALE / language / "LC_MESSAGES" / "django.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog
    for message in catalogue(language):
        if message.id and isinstance(message.id, str) and message.string:
            assert compiled.get(message.id) == message.string, message.id


@pytest.mark.parametrize("language", SHIPPED)
def test_the_default_words_exist_in_every_shipped_language_and_match_the_email(language):
    assert language in defaults.EMAIL_TRANSLATIONS and language in defaults.TEXT_TRANSLATIONS
    button = catalogue(language).get("Complete your order").string
    assert button.lower() in defaults.TEXT_TRANSLATIONS[language].lower()
    assert set(defaults.EMAIL_TRANSLATIONS) == set(defaults.TEXT_TRANSLATIONS) == set(SHIPPED)


def test_the_default_text_is_sent_in_the_buyers_language(store):
    ac = AbandonedCheckoutFactory(store=store, buyer_language="ja-JP", phone="+81 90 1234 5678")
    text = text_message(abandoned_checkout=ac, store=store, source=defaults.TEXT_MESSAGE)
    assert text.startswith(f"{store.name}：カートに商品が残っています。ご注文を完了する：http")
    assert text_message(abandoned_checkout=ac, store=store, source="") == text
    # The merchant's own words are theirs, untouched.
    assert text_message(abandoned_checkout=ac, store=store, source="Hello {{ first_name }}") == f"Hello {ac.first_name}"


def test_amounts_are_in_the_buyers_currency_when_the_checkout_has_a_conversion(store):
    def item(name, quantity, amount, converted):
        return {
            **line_item(name, quantity, amount),
            "price": multi_currency_price(Decimal(amount), Decimal(converted), "USD", "EUR", "de"),
        }

    ac = AbandonedCheckoutFactory(
        store=store,
        buyer_language="de",
        currency="USD",
        conversion_currency="EUR",
        subtotal=Decimal("100.00"),
        subtotal_converted=Decimal("90.00"),
        total=Decimal("110.00"),
        total_converted=Decimal("99.00"),
        shipping=Decimal("10.00"),
        shipping_converted=None,  # not sent: converted at the rate the totals imply
        tax=None,
        line_items=[item("Jacke", 2, "50.00", "45.00")],
        applied_discounts=[],
    )
    text = recovery_email(
        abandoned_checkout=ac, store=store, template=EmailTemplate("S", "B"), idempotency_key="c"
    ).text
    assert "- Jacke: 2 × 45,00\u00a0€ = 90,00\u00a0€" in text
    assert "Zwischensumme: 90,00\u00a0€" in text and "Versand: 9,00\u00a0€" in text
    assert "Gesamtsumme: 99,00\u00a0€" in text
    assert "$" not in text


def test_without_a_conversion_amounts_stay_in_the_stores_currency(store):
    ac = AbandonedCheckoutFactory(
        store=store,
        buyer_language="en",
        currency="USD",
        conversion_currency="",
        total=Decimal("12.00"),
        total_converted=None,
        line_items=[],
        applied_discounts=[],
    )
    text = recovery_email(
        abandoned_checkout=ac, store=store, template=EmailTemplate("S", "B"), idempotency_key="n"
    ).text
    assert "Total: $12.00" in text


def test_a_step_that_kept_the_default_words_reads_as_the_default_in_the_buyers_language(store):
    automation = only_automation(store)
    # As a browser saves it: CRLF line breaks.
    kept = email_step(automation, subject=defaults.EMAIL_SUBJECT, body=defaults.EMAIL_BODY.replace("\n", "\r\n"))
    assert step_template(kept, "fr-ca").body == defaults.EMAIL_TRANSLATIONS["fr"][1]
    assert step_template(kept, "en").body == kept.body
    own = email_step(automation, subject="Psst", body="Your cart misses you")
    assert step_template(own, "fr").body == "Your cart misses you"  # the merchant's words stay theirs
