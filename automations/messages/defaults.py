"""The words a new store starts with. Merchants edit them on the automation's page."""

# ruff: noqa: E501 - prose reads better unbroken; these become the email's paragraphs.

from functools import lru_cache

EMAIL_SUBJECT = "{{ first_name|default:'Hi' }}, you left something in your cart"
EMAIL_BODY = """Hi {{ first_name|default:"there" }},

You left some items in your cart at {{ store_name }}. We've saved them for you, so you can pick up right where you left off.

If something went wrong at checkout, just reply to this email and we'll help."""

# Per-language variants of the default email, used when the buyer's language matches.
EMAIL_TRANSLATIONS = {
    "fr": (
        "{{ first_name|default:'Bonjour' }}, vous avez oublié quelque chose dans votre panier",
        """Bonjour{% if first_name %} {{ first_name }}{% endif %},

Vous avez laissé des articles dans votre panier chez {{ store_name }}. Nous les avons gardés pour vous : reprenez là où vous vous étiez arrêté.

Un souci au moment du paiement ? Répondez simplement à cet e-mail, nous vous aiderons.""",
    ),
    "de": (
        "{{ first_name|default:'Hallo' }}, in Ihrem Warenkorb wartet noch etwas",
        """Hallo{% if first_name %} {{ first_name }}{% endif %},

Sie haben Artikel in Ihrem Warenkorb bei {{ store_name }} gelassen. Wir haben sie für Sie aufbewahrt, damit Sie genau dort weitermachen können, wo Sie aufgehört haben.

Gab es ein Problem beim Bezahlen? Antworten Sie einfach auf diese E-Mail, wir helfen gern.""",
    ),
    "es": (
        "{{ first_name|default:'Hola' }}, dejaste algo en tu carrito",
        """Hola{% if first_name %} {{ first_name }}{% endif %}:

Dejaste algunos artículos en tu carrito de {{ store_name }}. Los hemos guardado para que puedas continuar donde lo dejaste.

¿Hubo algún problema al pagar? Responde a este correo y te ayudaremos.""",
    ),
    "ja": (
        "{% if first_name %}{{ first_name }}様、{% endif %}カートに商品が残っています",
        """{% if first_name %}{{ first_name }}様{% else %}お客様{% endif %}

{{ store_name }} のカートに商品が残っています。お客様のために保存してありますので、いつでも続きからお買い物いただけます。

お支払いの際に問題がございましたら、このメールにご返信ください。サポートいたします。""",
    ),
}

TEXT_MESSAGE = "{{ store_name }}: your cart is waiting. Complete your order: {{ recovery_url }}"
# The same text per language; "Complete your order" is worded as in the email's button (locale/).
TEXT_TRANSLATIONS = {
    "fr": "{{ store_name }} : votre panier vous attend. Finalisez votre commande : {{ recovery_url }}",
    "de": "{{ store_name }}: Ihr Warenkorb wartet. Bestellung abschließen: {{ recovery_url }}",
    "es": "{{ store_name }}: tu carrito te espera. Completa tu pedido: {{ recovery_url }}",
    "ja": "{{ store_name }}：カートに商品が残っています。ご注文を完了する：{{ recovery_url }}",
}
STAFF_MESSAGE = "A {{ total }} cart was abandoned{% if buyer_name %} by {{ buyer_name }}{% endif %}."
TASK_TITLE = "Follow up on an abandoned cart"


def text_message_for(language: str, source: str = "") -> str:
    """The text to render for a buyer reading `language` ("fr-ca" falls back to "fr"): the step's
    own words, unless it has none or kept the English default a new step starts with, which
    stands for "the default", in the buyer's language."""
    if source and _words(source) != TEXT_MESSAGE:
        return source
    return TEXT_TRANSLATIONS.get(language) or TEXT_TRANSLATIONS.get(language.split("-")[0]) or TEXT_MESSAGE


def _words(source: str) -> str:
    return " ".join(source.split())


@lru_cache(maxsize=256)  # the dispatcher asks once per email; steps are few
def is_default_email(subject: str, body: str) -> bool:
    """The default English email, as shipped (a browser sends its line breaks as CRLF)."""
    return _words(subject) == _words(EMAIL_SUBJECT) and _words(body) == _words(EMAIL_BODY)
