"""Our email layouts, compiled once per language with their fixed words translated
(automations/messages/layout.py), render exactly what Django's `render_to_string` renders."""

import weakref

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from automations.messages.layout import render_layout

LAYOUTS = ("automations/emails/recovery.txt", "automations/emails/recovery.html")
FULL = {
    "body_text": "Hi Ada & <friends>",
    "items": [
        {
            "name": "Mug <b>",
            "quantity": 2,
            "price": "€10.00",
            "line_total": "€20.00",
            "image_url": "https://shop.example.com/a.png",
            "options": "Taille : M",
        }
    ],
    "subtotal": "€20.00",
    "discounts": [{"label": "Coupon SAVE", "amount": "€2.00"}],
    "shipping": "€4.00",
    "tax": "€1.00",
    "total": "€23.00",
    "discount_code": "SAVE10",
    "recovery_url": "https://comeback.example.com/r/x?a=1&b=2",
    "unsubscribe_url": "https://comeback.example.com/u/token/",
    "store_name": "Bob's & <Co>",
    "subject": "Your cart",
    "language": "fr",
    "open_pixel_url": "https://comeback.example.com/open/t.gif",
}
# Every optional block left out.
BARE = {**FULL, "items": [], "discounts": [], "shipping": "", "tax": "", "discount_code": "", "unsubscribe_url": ""}


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("language", ["en", "fr", "de", "es", "ja", "fr-ca", "xx", None])
def test_a_layout_renders_what_django_renders(name, language):
    for context in (FULL, BARE):
        with translation.override(language):
            expected = render_to_string(name, context)
            assert render_layout(name, context) == expected
            assert render_layout(name, context) == expected  # and again, from the compiled copy


def test_each_language_keeps_its_own_words():
    name = "automations/emails/recovery.txt"
    with translation.override("fr"):
        french = render_layout(name, FULL)
    with translation.override("en"):
        english = render_layout(name, FULL)
    with translation.override("de"):
        german = render_layout(name, FULL)
    assert "Finalisez votre commande" in french and "Complete your order" not in french
    assert "Complete your order" in english
    assert "Complete your order" not in german and german != english


def test_the_loaders_template_is_left_untouched():
    """The constant tags are replaced in a copy: the shared template still translates per render."""
    from django.template.loader import get_template
    from django.templatetags.i18n import TranslateNode

    name = "automations/emails/recovery.txt"
    with translation.override("fr"):
        render_layout(name, FULL)
    nodes = get_template(name).template.nodelist.get_nodes_by_type(TranslateNode)
    assert nodes, "the loaded template keeps its {% translate %} tags"


def test_past_the_languages_kept_a_layout_renders_as_loaded(monkeypatch):
    """Languages come from storefronts, any string: the compiled copies stop at a bound."""
    from django.template.loader import get_template

    from automations.messages import layout

    name = "automations/emails/recovery.html"
    monkeypatch.setattr(layout, "LANGUAGES_KEPT", 2)
    monkeypatch.setattr(layout, "_compiled", weakref.WeakKeyDictionary())
    for index in range(5):
        with translation.override(f"x{index}-fr"):
            assert render_layout(name, FULL) == render_to_string(name, FULL)
    assert len(layout._compiled[get_template(name).template]) == 2
