"""Rendering what automations send: the merchant's template, in a sandbox, inside our layout."""

from decimal import Decimal

import pytest
from django.template import TemplateSyntaxError

from automations.messages.engine import render, validate_template
from automations.messages.render import EmailTemplate, pick_template, recovery_email, unsubscribe_token_read
from tests.factories import AbandonedCheckoutFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "source",
    ["{% debug %}", "{% load static %}", '{% include "base.html" %}', '{% extends "base.html" %}', "{% url 'x' %}"],
)
def test_templates_cannot_reach_outside_their_context(source):
    with pytest.raises(TemplateSyntaxError):
        validate_template(source)


def test_templates_can_use_ordinary_tags_and_filters():
    source = "{% for i in items %}{{ i.name|upper }}{% if not forloop.last %}, {% endif %}{% endfor %}"
    assert render(source, {"items": [{"name": "a"}, {"name": "b"}]}, autoescape=True) == "A, B"


def test_the_buyers_input_is_escaped_in_html_and_kept_in_text(store):
    ac = AbandonedCheckoutFactory(store=store, first_name="<b>Bo</b> & co", total=Decimal("9.5"))
    email = recovery_email(
        abandoned_checkout=ac,
        store=store,
        template=EmailTemplate("Hi {{ first_name }}", "Hi {{ first_name }}"),
        idempotency_key="k",
    )
    assert "&lt;b&gt;Bo&lt;/b&gt; &amp; co" in email.html and "<b>Bo</b>" not in email.html
    assert "Hi <b>Bo</b> & co" in email.text and email.subject == "Hi <b>Bo</b> & co"
    assert "Total: $9.50" in email.text


def test_money_is_formatted_in_the_buyers_language(store):
    ac = AbandonedCheckoutFactory(store=store, currency="EUR", total=Decimal("1234.5"), buyer_language="de")
    email = recovery_email(
        abandoned_checkout=ac, store=store, template=EmailTemplate("s", "{{ total }}"), idempotency_key="k"
    )
    assert "1.234,50\xa0€" in email.text


def test_the_language_variant_falls_back_to_the_base_language_then_the_default():
    default, fr = EmailTemplate("en", "en"), EmailTemplate("fr", "fr", "fr")
    assert pick_template(default, {"fr": fr}, "fr-ca") is fr
    assert pick_template(default, {"fr": fr}, "de") is default


def test_the_unsubscribe_token_is_signed():
    from automations.messages.render import unsubscribe_token

    token = unsubscribe_token(store_id="s-1", email=" Ada@Example.com ")
    assert unsubscribe_token_read(token) == ("s-1", "ada@example.com")
    assert unsubscribe_token_read(token.replace(":", ";", 1)) is None


def test_an_unsubscribe_token_sent_compressed_still_reads():
    from django.core import signing

    from automations.messages.render import UNSUBSCRIBE_SALT

    # Long enough for zlib to shorten it: tokens were signed with compress=True until December 2026.
    data = {"s": "s-1", "e": "shop.shop.shop.shop.shop.shop@shop.shop.shop.example.com", "l": "fr"}
    token = signing.dumps(data, salt=UNSUBSCRIBE_SALT, compress=True)
    assert token.startswith(".")

    assert unsubscribe_token_read(token) == ("s-1", data["e"])
