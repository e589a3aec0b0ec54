"""The words a new store starts with. Merchants edit them on the automation's page."""

# ruff: noqa: E501 - prose reads better unbroken; these become the email's paragraphs.

EMAIL_SUBJECT = "{{ first_name|default:'Hi' }}, you left something in your cart"
EMAIL_BODY = """Hi {{ first_name|default:"there" }},

You left some items in your cart at {{ store_name }}. We've saved them for you, so you can pick up right where you left off.

If something went wrong at checkout, just reply to this email and we'll help."""

# Per-language variants of the default email, used when the buyer's language matches.
EMAIL_TRANSLATIONS = {
    "fr": (
        "{{ first_name|default:'Bonjour' }}, vous avez oublié quelque chose dans votre panier",
        """Bonjour {{ first_name }},

Vous avez laissé des articles dans votre panier chez {{ store_name }}. Nous les avons gardés pour vous : reprenez là où vous vous étiez arrêté.

Un souci au moment du paiement ? Répondez simplement à cet e-mail, nous vous aiderons.""",
    ),
    "de": (
        "{{ first_name|default:'Hallo' }}, in Ihrem Warenkorb wartet noch etwas",
        """Hallo {{ first_name }},

Sie haben Artikel in Ihrem Warenkorb bei {{ store_name }} gelassen. Wir haben sie für Sie aufbewahrt, damit Sie genau dort weitermachen können, wo Sie aufgehört haben.

Gab es ein Problem beim Bezahlen? Antworten Sie einfach auf diese E-Mail, wir helfen gern.""",
    ),
    "es": (
        "{{ first_name|default:'Hola' }}, dejaste algo en tu carrito",
        """Hola {{ first_name }}:

Dejaste algunos artículos en tu carrito de {{ store_name }}. Los hemos guardado para que puedas continuar donde lo dejaste.

¿Hubo algún problema al pagar? Responde a este correo y te ayudaremos.""",
    ),
}

TEXT_MESSAGE = "{{ store_name }}: your cart is waiting. Complete your order: {{ recovery_url }}"
STAFF_MESSAGE = "A {{ total }} cart was abandoned{% if buyer_name %} by {{ buyer_name }}{% endif %}."
TASK_TITLE = "Follow up on an abandoned cart"
