"""Our email layouts, compiled once per language with their fixed words translated
(automations/messages/layout.py), render exactly what Django's `render_to_string` renders."""

import weakref

import pytest
import time_machine
from django.template.loader import render_to_string
from django.utils import timezone, translation

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


# What a storefront or a merchant can put in the data: markup, entities, quotes, format
# specifiers, template syntax, line breaks, right-to-left and astral characters.
HOSTILE = [
    "<script>alert('x')</script>",
    "&amp; &lt; \"quoted\" 'single' `tick`",
    "%s %(store_name)s %% {} {0}",
    "{{ unsubscribe_url }} {% if x %}",
    "line one\nline two\n\nparagraph\r\nwindows",
    "עברית العربية 日本語 Ünïcödé 🛒\u200b\u00a0",
    "",
    " ",
]


def _hostile_contexts():
    for index, text in enumerate(HOSTILE):
        other = HOSTILE[-1 - index]
        item = {
            "name": text,
            "quantity": [1, 0, -3, 1234, 1234567][index % 5],
            "price": other,
            "line_total": "" if index % 2 else text,
            "image_url": text,
            "options": other,
        }
        yield {
            **FULL,
            "body_text": text,
            "items": [item, {**item, "name": other, "options": ""}][: 1 + index % 2],
            "discounts": [{"label": text, "amount": other}] * (index % 3),
            "shipping": text,
            "tax": other,
            "total": text,
            "discount_code": other,
            "recovery_url": text,
            "unsubscribe_url": other,
            "store_name": text,
            "subject": other,
            "language": text,
            "open_pixel_url": other,
        }
    yield BARE
    # Off the plain path (the fast renderer hands these to Django): the same text all the same.
    yield {**FULL, "items": [{**FULL["items"][0], "price": 12.5}]}  # a number, localized
    yield {**FULL, "items": (FULL["items"][0],)}  # not a list
    yield {key: value for key, value in FULL.items() if key != "tax"}  # missing
    yield {**FULL, "store_name": lambda: "called"}  # callable
    yield {**FULL, "subtotal": None, "shipping": 0, "items": [{**FULL["items"][0], "quantity": True}]}


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("language", ["en", "fr", "de", "es", "ja", "fr-ca", "xx", None])
def test_the_fast_renderer_renders_what_django_renders_on_hostile_data(name, language):
    from django.template.loader import get_template

    from automations.messages.fastrender import compile_fast
    from automations.messages.layout import _translated

    with translation.override(language):
        fast = compile_fast(_translated(get_template(name)).template, autoescape=True)
        assert fast is not None, "our layouts use only what the fast renderer knows"
        for context in _hostile_contexts():
            expected = render_to_string(name, context)
            assert render_layout(name, context) == expected
            assert render_layout(name, context) == expected  # and again, a block translation remembered


def test_the_fast_renderer_takes_the_plain_path_for_plain_data():
    """Not a comparison that would pass by falling back every time: plain data renders fast."""
    from django.template.loader import get_template

    from automations.messages.fastrender import Fallback, compile_fast
    from automations.messages.layout import _translated

    for name in LAYOUTS:
        fast = compile_fast(_translated(get_template(name)).template, autoescape=True)
        assert fast(FULL) == render_to_string(name, FULL)
        with pytest.raises(Fallback):
            fast({**FULL, "total": lambda: "called"})


def test_a_construct_the_fast_renderer_does_not_know_leaves_the_template_to_django():
    from django.template import engines

    from automations.messages.fastrender import compile_fast

    engine = engines["django"]
    for source in ("{% if a and b %}x{% endif %}", "{% for a, b in c %}{% endfor %}", "{% now 'Y' %}"):
        assert compile_fast(engine.from_string(source).template, autoescape=True) is None
    known = engine.from_string("{% for i in items %}{{ forloop.counter }}{% endfor %}")
    assert compile_fast(known.template, autoescape=True) is None


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr", "de", "es", "ja"])
def test_a_recovery_email_is_the_same_through_the_fast_renderer_and_django(store, monkeypatch, language):
    """Whole emails, in every shipped language, both A/B variants, with and without a discount
    code and a pixel, hostile names: byte for byte what Django's rendering of the layouts gives."""
    from decimal import Decimal

    from automations.messages import layout
    from automations.messages.render import recovery_email
    from automations.messages.variants import step_email
    from tests.automations.helpers import email_step, only_automation
    from tests.checkouts.views.conftest import line_item
    from tests.factories import AbandonedCheckoutFactory

    store.name = HOSTILE[0]
    step = email_step(only_automation(store), subject="Hi {{ first_name }} <3", subject_b="B & {{ store_name }}")
    step.body_b = "Variant B\n\n{{ first_name }} & {{ discount_code }}"
    checkouts = [
        AbandonedCheckoutFactory(
            store=store,
            buyer_language=language,
            first_name=text,
            total=Decimal("1234.50"),
            shipping=Decimal("5.00") if index % 2 else None,
            line_items=[
                line_item(
                    text or "Item",
                    1 + index * 700,
                    "12.50",
                    descriptionLines=[{"name": {"original": "Size"}, "plainText": {"original": text or "M"}}],
                ),
                line_item("Bonnet", 3, "12.50"),
            ],
            applied_discounts=[{"coupon": {"code": text, "amount": {"amount": "10"}}}] if index % 3 else [],
        )
        for index, text in enumerate(HOSTILE)
    ]

    def emails():
        rendered = []
        for index, ac in enumerate(checkouts):
            for variant in ("A", "B"):
                template, _ = step_email(step, language, ac.pk, variant=variant)
                email = recovery_email(
                    abandoned_checkout=ac,
                    store=store,
                    template=template,
                    idempotency_key=f"k-{index}-{variant}",
                    discount_code=HOSTILE[-1 - index] if index % 2 else "",
                    open_pixel=bool(index % 2),
                )
                rendered.append((email.subject, email.text, email.html, email.headers))
        return rendered

    # One clock for both: the unsubscribe token carries the second it was signed.
    with time_machine.travel(timezone.now(), tick=False):
        monkeypatch.setattr(layout, "_compiled", weakref.WeakKeyDictionary())
        fast = emails()
        monkeypatch.setattr(layout, "compile_fast", lambda template, autoescape: None)
        monkeypatch.setattr(layout, "_compiled", weakref.WeakKeyDictionary())
        assert emails() == fast


@pytest.mark.parametrize("name", ["item", "item.name", "item.name.first", "items.0", "missing.name"])
@pytest.mark.parametrize(
    "data",
    [
        {"item": {"name": "Shirt <b>"}},
        {"item": {"name": {"first": "x"}}},
        {"item": {"name": len}},
        {"item": len},
        {"item": ["name"]},
        {"item": "name"},
        {"item": {}},
        {"items": [{"name": "a"}]},
        {},
    ],
)
def test_an_unrolled_lookup_resolves_as_the_general_one(name, data):
    """`fastrender._lookup`, what a variable without filters compiles to, against `_resolve_variable`."""
    from django.template.base import Variable

    from automations.messages import fastrender

    variable = Variable(name)
    scopes = ({"inner": 1}, data, fastrender._BUILTINS)
    try:
        expected = ("value", fastrender._resolve_variable(variable, scopes))
    except fastrender.Fallback:
        expected = ("fallback",)
    try:
        got = ("value", fastrender._lookup(variable.lookups)(scopes, True))
    except fastrender.Fallback:
        got = ("fallback",)
    assert got == expected


@pytest.mark.parametrize("language", ["en", "fr", "de", "hi", "ar", "ja"])
@pytest.mark.parametrize(
    "number_settings",
    [
        {},
        {"USE_THOUSAND_SEPARATOR": True},
        {"USE_THOUSAND_SEPARATOR": True, "NUMBER_GROUPING": 1, "THOUSAND_SEPARATOR": "'"},
        {"USE_THOUSAND_SEPARATOR": True, "NUMBER_GROUPING": (3, 2, 0)},
    ],
)
def test_a_small_int_renders_as_django_renders_it(language, number_settings, settings):
    """The fast renderer writes a one-digit int itself: the text Django's localization gives."""
    from django.template import Context
    from django.template.base import render_value_in_context
    from django.utils import translation

    from automations.messages import fastrender

    for name, value in number_settings.items():
        setattr(settings, name, value)
    with translation.override(language):
        for number in [*range(-12, 13), 999, 1000, 123456, True, False, 2.5]:
            for autoescape in (True, False):
                expected = render_value_in_context(number, Context(autoescape=autoescape))
                assert fastrender._render_other(number, autoescape) == expected, (number, autoescape)
