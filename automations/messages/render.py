"""From a step's templates and an abandoned checkout to the email (or text) the buyer gets."""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from email.utils import formataddr, parseaddr
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from checkouts import signing as fast_signing
from checkouts.hosts import image_url_allowed
from checkouts.inserts import instances_from_rows
from checkouts.models import AbandonedCheckout, Store
from checkouts.recovery_links import recovery_link_for_email
from checkouts.wix import checkout_url, conversion_rate, format_money

from ..models import AutomationStep, SentEmail
from ..services.engagement import open_pixel_token
from . import defaults
from .engine import plain, render
from .layout import render_layout
from .mime import Message

UNSUBSCRIBE_SALT = "automations.unsubscribe"


@dataclass(frozen=True)
class EmailTemplate:
    """Subject and body sources in one language."""

    subject: str
    body: str
    language: str = ""


@dataclass
class RenderedEmail:
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    message_id: str = ""
    idempotency_key: str = ""

    def sent_email(self, **fields: Any) -> SentEmail:
        """The unsaved record of this email as sent; `fields` add the store, kind, sender, ..."""
        if fields.keys() == _DISPATCHED_FIELDS:
            return self._dispatched(**fields)
        return SentEmail(
            idempotency_key=self.idempotency_key,
            message_id=self.message_id,
            to_email=self.to,
            subject=self.subject,
            text_body=self.text,
            html_body=self.html,
            **fields,
        )

    def _dispatched(self, *, store_id, abandoned_checkout, scheduled_step, kind, sent_at, variant) -> SentEmail:
        """`sent_email` with the dispatcher's fields: the instance `SentEmail(...)` makes (every
        other field at its default), without `Model.__init__` going through every field."""
        obj = instances_from_rows(
            SentEmail,
            _SENT_EMAIL_ATTNAMES,
            [
                (
                    store_id,
                    None if abandoned_checkout is None else abandoned_checkout.pk,
                    None if scheduled_step is None else scheduled_step.pk,
                    kind,
                    self.idempotency_key,
                    self.message_id,
                    self.to,
                    self.subject,
                    self.text,
                    self.html,
                    sent_at,
                    variant,
                )
            ],
            shared=_SENT_EMAIL_UNSET,
        )[0]
        # Through the relations' descriptors, as `Model.__init__` sets them: the cached
        # objects, the instance's database.
        obj.abandoned_checkout = abandoned_checkout
        obj.scheduled_step = scheduled_step
        return obj

    def message(self) -> Message:
        message = Message(subject=self.subject, body=self.text, to=[self.to], headers=dict(self.headers))
        if self.html:
            message.attach_alternative(self.html, "text/html")
        return message


# What the dispatcher passes to `RenderedEmail.sent_email`, and the columns it then fills.
_DISPATCHED_FIELDS = {"store_id", "abandoned_checkout", "scheduled_step", "kind", "sent_at", "variant"}
_SENT_EMAIL_ATTNAMES = (
    "store_id",
    "abandoned_checkout_id",
    "scheduled_step_id",
    "kind",
    "idempotency_key",
    "message_id",
    "to_email",
    "subject",
    "text_body",
    "html_body",
    "sent_at",
    "variant",
)
# The fields the dispatcher leaves unset, at the defaults `SentEmail()` gives them (immutable).
_SENT_EMAIL_UNSET = {"id": None, "sent_by_id": None, "opened_at": None}


def unsubscribe_token(*, store_id, email: str, language: str = "") -> str:
    """A signed, non-expiring token naming the store and the address (the link must work forever),
    and the language of the email it came in, which the page speaks."""
    data = {"s": str(store_id), "e": email.strip().lower(), **({"l": language} if language else {})}
    # `signing.dumps(data, salt=UNSUBSCRIBE_SALT)`, its key derived once. Not compressed: zlib
    # shortens 80 to 120 bytes of JSON by 4 at best (and then only a long address), so a token
    # came out the same, a zlib stream set up and torn down per email for nothing. Tokens sent
    # compressed still read (`signing.loads` takes both).
    return fast_signing.dumps(data, salt=UNSUBSCRIBE_SALT)


def _token_data(token: str) -> dict | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not data.get("s") or not data.get("e"):
        return None
    return data


def unsubscribe_token_read(token: str) -> tuple[str, str] | None:
    """(store id, email) from a token, or None if it was not made by us."""
    data = _token_data(token)
    return (data["s"], data["e"]) if data else None


def unsubscribe_token_language(token: str) -> str:
    """The language of the email the token came in ("" for older tokens, which had none)."""
    data = _token_data(token)
    return str(data.get("l") or "") if data else ""


@lru_cache(maxsize=1)
def _unsubscribe_path() -> tuple[str, str]:
    # Resolved once: the dispatcher builds one link per email.
    path = reverse("automations:unsubscribe", args=["TOKEN"])
    before, _, after = path.partition("TOKEN")
    return before, after


@lru_cache(maxsize=1)
def _open_pixel_path() -> tuple[str, str]:
    path = reverse("automations:open_pixel", args=["TOKEN"])
    before, _, after = path.partition("TOKEN")
    return before, after


def open_pixel_url(email_key: str) -> str:
    """The 1×1 image whose first load marks the email opened (see `sent_email_open_record`)."""
    before, after = _open_pixel_path()
    return f"{settings.COMEBACK_PUBLIC_URL}{before}{quote(open_pixel_token(email_key), safe=':')}{after}"


# The start of the pixel's <img> tag as recovery.html writes it. A regular expression both
# Python and the databases read (PostgreSQL's ~, SQLite's REGEXP): the sent-emails list asks
# the database whether an email carried a pixel without reading its HTML out.
OPEN_PIXEL_PATTERN = r'<img src="[^"]*/open/[^"/]+\.gif"'
_OPEN_PIXEL_TAG = re.compile(OPEN_PIXEL_PATTERN + r"[^>]*>")


def without_open_pixel(html: str) -> str:
    """A sent email's HTML with its open pixel taken out, to show it in the dashboard."""
    return _OPEN_PIXEL_TAG.sub("", html)


def unsubscribe_url(*, store_id, email: str, language: str = "") -> str:
    before, after = _unsubscribe_path()
    token = unsubscribe_token(store_id=store_id, email=email, language=language)
    return f"{settings.COMEBACK_PUBLIC_URL}{before}{token}{after}"


def message_language(abandoned_checkout: AbandonedCheckout, store: Store) -> str:
    return (abandoned_checkout.buyer_language or store.language or "en").lower().replace("_", "-")


def pick_template(default: EmailTemplate, translations: dict[str, EmailTemplate], language: str) -> EmailTemplate:
    """The variant for `language` ("fr-ca"), else for its base language ("fr"), else the default."""
    return translations.get(language) or translations.get(language.split("-")[0]) or default


def step_template(step: AutomationStep, language: str) -> EmailTemplate:
    """An email step's words for `language`: one of its translations (prefetch them), else its own.

    A step that kept the default English words a new step starts with (and has no translation of
    its own for the language) reads as the default: in the buyer's language, like the rest."""
    translations = {t.language: EmailTemplate(t.subject, t.body, t.language) for t in step.translations.all()}
    if defaults.is_default_email(step.subject, step.body):
        translations = {**default_translations(), **translations}
    return pick_template(EmailTemplate(step.subject, step.body), translations, language)


@lru_cache(maxsize=1)
def default_translations() -> dict[str, EmailTemplate]:
    return {lang: EmailTemplate(subject, body, lang) for lang, (subject, body) in defaults.EMAIL_TRANSLATIONS.items()}


@lru_cache(maxsize=4096)
def _money_text(value: str, currency: str, language: str) -> str:
    # Catalogue prices repeat across thousands of carts; CLDR formatting is the costly part.
    try:
        return format_money(Decimal(value), currency, language)
    except (InvalidOperation, ValueError, TypeError):
        return ""


def _money(value: Any, currency: str, language: str) -> str:
    return _money_text(str(value), currency, language) if value is not None else ""


# Option names storefronts send in English whatever the buyer reads: translated by our catalogue.
OPTION_NAMES = frozenset(
    (
        gettext_noop("Size"),
        gettext_noop("Color"),
        gettext_noop("Colour"),
        gettext_noop("Material"),
        gettext_noop("Style"),
        gettext_noop("Width"),
        gettext_noop("Length"),
    )
)


def _words(value: Any) -> str:
    """A Wix translatable text ({original, translated}) in the buyer's language when the storefront sent it."""
    if not isinstance(value, dict):
        return ""
    return str(value.get("translated") or value.get("original") or "")


def buyer_currency(abandoned_checkout: AbandonedCheckout) -> tuple[str, bool]:
    """The currency the buyer shopped in, and whether it is a conversion of the store's."""
    ac = abandoned_checkout
    converted = bool(ac.conversion_currency) and ac.conversion_currency != ac.currency
    return (ac.conversion_currency, True) if converted and ac.total_converted is not None else (ac.currency, False)


def _amount(abandoned_checkout: AbandonedCheckout, field_name: str, converted: bool) -> Any:
    """A total (subtotal, shipping, ...) in the buyer's currency: its own converted value, else at
    the rate the converted total implies; None stays None ("not sent")."""
    ac = abandoned_checkout
    value = getattr(ac, field_name)
    if not converted or value is None:
        return value
    own = getattr(ac, f"{field_name}_converted")
    if own is not None:
        return own
    rate = conversion_rate(ac.total, ac.total_converted)
    return value * rate if rate is not None else None


def _price(price: Any, converted: bool) -> Any:
    """A line's or discount's MultiCurrencyPrice (the wire shape) in the buyer's currency."""
    if not isinstance(price, dict):
        return None
    if converted and price.get("convertedAmount") is not None:
        return price["convertedAmount"]
    return price.get("amount")


def line_items(abandoned_checkout: AbandonedCheckout, language: str, store: Store) -> list[dict[str, Any]]:
    """The cart's lines; call inside `translation.override(language)` (option names are translated)."""
    currency, converted = buyer_currency(abandoned_checkout)
    language_active, hosts = translation.get_language(), store.allowed_hosts
    items = []
    for item in abandoned_checkout.line_items or []:
        options = []
        for line in item.get("descriptionLines") or []:
            name = _words(line.get("name"))
            value = _words(line.get("plainText") or line.get("colorInfo"))
            if name and value:
                options.append(f"{_option_name(name, language_active) if name in OPTION_NAMES else name}: {value}")
        quantity = item.get("quantity", 1)
        amount = _price(item.get("price"), converted)
        items.append(
            {
                "name": _words(item.get("productName")),
                "quantity": quantity,
                "price": _money(amount, currency, language),
                "line_total": _line_total(amount, quantity, currency, language),
                # Only the store's own hosts: a buyer's image URL must not end up in the store's email.
                "image_url": _store_image(hosts, (item.get("image") or {}).get("url", "")),
                "options": ", ".join(options),
            }
        )
    return items


def _line_total(amount: Any, quantity: Any, currency: str, language: str) -> str:
    """Quantity × unit price, so the lines of the email add up to its subtotal."""
    try:
        return _money(Decimal(str(amount)) * int(quantity), currency, language)
    except (InvalidOperation, ValueError, TypeError):
        return ""


def discount_lines(abandoned_checkout: AbandonedCheckout, language: str) -> list[dict[str, str]]:
    """Each applied discount as {label, amount}: the coupon's code and name, a rule's name, ...
    Call inside `translation.override(language)`."""
    currency, converted = buyer_currency(abandoned_checkout)
    lines = []
    for discount in abandoned_checkout.applied_discounts or []:
        if not isinstance(discount, dict):
            continue
        coupon, rule, merchant = (discount.get(key) for key in ("coupon", "discountRule", "merchantDiscount"))
        if isinstance(coupon, dict):
            label = " ".join(part for part in (gettext("Coupon"), str(coupon.get("code") or "")) if part)
            label += f" ({coupon['name']})" if coupon.get("name") else ""
            source = coupon
        elif isinstance(rule, dict):
            name = rule.get("name")
            label = str((_words(name) if isinstance(name, dict) else name) or gettext("Discount"))
            source = rule
        elif isinstance(merchant, dict):
            label, source = gettext("Discount"), merchant
        else:
            continue
        lines.append({"label": label, "amount": _money(_price(source.get("amount"), converted), currency, language)})
    return lines


def _store_image(hosts: frozenset[str], url: Any) -> str:
    """The URL if the store's hosts (`Store.allowed_hosts`) allow it as an image, else ""."""
    url = str(url or "")
    return url if _image_allowed(url, hosts, settings.COMEBACK_PUBLIC_URL) else ""


@lru_cache(maxsize=4096)
def _image_allowed(url: str, hosts: frozenset[str], public_url: str) -> bool:
    # Catalogue images repeat across carts; the host check parses the URL each time.
    # `public_url` is part of the key: `image_url_allowed` reads that setting.
    return image_url_allowed(url, hosts)


@lru_cache(maxsize=256)
def _option_name(name: str, language: str | None) -> str:
    """`gettext(name)`, once per option name and language (call with the active language)."""
    return gettext(name)


def message_context(
    abandoned_checkout: AbandonedCheckout, store: Store, *, to: str = "", discount_code: str = ""
) -> dict[str, Any]:
    """The only values a merchant's template sees: plain data, no model instances.

    The unsubscribe link names the address the message goes to (`to`, else the buyer's);
    `discount_code` is the code this message carries, if its automation offers one.
    """
    ac = abandoned_checkout
    recipient = (to or ac.buyer_email).strip().lower()
    language = message_language(ac, store)
    currency, converted = buyer_currency(ac)
    with translation.override(language):
        items, discounts = line_items(ac, language, store), discount_lines(ac, language)
    context = {
        "first_name": ac.first_name,
        "last_name": ac.last_name,
        "buyer_name": ac.buyer_name,
        "store_name": store.name,
        "store_url": store.storefront_url,
        "items": items,
        "subtotal": _money(_amount(ac, "subtotal", converted), currency, language),
        "discounts": discounts,
        # Empty when the storefront did not send them: the email leaves the line out.
        "shipping": _money(_amount(ac, "shipping", converted), currency, language),
        "tax": _money(_amount(ac, "tax", converted), currency, language),
        "total": _money(_amount(ac, "total", converted), currency, language),
        "recovery_url": checkout_url(ac.id, store.id),
        "unsubscribe_url": unsubscribe_url(store_id=store.id, email=recipient, language=language) if recipient else "",
        "discount_code": discount_code,
    }
    return context


@lru_cache(maxsize=8)
def _address_of(sender: str) -> str:
    # Parsing an address takes longer than the rest of a Message-ID; the setting rarely changes.
    return parseaddr(sender)[1]


def _from_address(store: Store) -> str:
    """The store's name in front of our sender address: buyers recognise the shop, not the tool."""
    return _formatted_from(store.header_name, settings.DEFAULT_FROM_EMAIL)


@lru_cache(maxsize=256)
def _formatted_from(name: str, sender: str) -> str:
    # The same From for every email of a store: `formataddr` checks and quotes the name each time.
    return formataddr((name, _address_of(sender)))


def message_id_for(idempotency_key: str) -> str:
    """A Message-ID derived from the idempotency key: a retried send carries the same one, so a
    provider or mailbox that de-duplicates on it shows the buyer one email. The keyed hash keeps
    ids of two installs (whose step numbers overlap) apart."""
    domain = _address_of(settings.DEFAULT_FROM_EMAIL).rpartition("@")[2] or "comeback.localhost"
    install = fast_signing.salted_hmac("automations.message-id", idempotency_key).hexdigest()[:16]
    return f"<{idempotency_key}.{install}@{domain}>"


def recovery_email(
    *,
    abandoned_checkout: AbandonedCheckout,
    store: Store,
    template: EmailTemplate,
    idempotency_key: str,
    to: str | None = None,
    discount_code: str = "",
    open_pixel: bool = False,
) -> RenderedEmail:
    """The recovery email for one checkout: the merchant's words inside our layout (items, total,
    the discount code's block, button, unsubscribe footer), as HTML and plain text. Raises
    TemplateSyntaxError on a broken template.

    Its recovery link names this email (a signed token of `idempotency_key`), so a click is
    credited to it; `open_pixel` adds the invisible image that counts its first open."""
    context = message_context(abandoned_checkout, store, to=to or "", discount_code=discount_code)
    context["recovery_url"] = recovery_link_for_email(abandoned_checkout.id, store.id, email_key=idempotency_key)
    subject = " ".join(render(template.subject, context, autoescape=False).split())
    language = message_language(abandoned_checkout, store)
    layout = {
        **context,
        # The body is plain text by contract: rendered once, then escaped whole for the HTML
        # part (the merchant's own "&" or "<" included), paragraphs by `linebreaks`.
        "body_text": render(template.body, context, autoescape=False).strip(),
        "subject": subject,
        "language": template.language or language,
        "open_pixel_url": open_pixel_url(idempotency_key) if open_pixel else "",
    }
    # Our own words (totals, button, footer) in the buyer's language, whichever words the
    # merchant wrote. Both plain str: the text is not HTML at all (a page showing it must escape
    # it), and the HTML is shown only as a document of its own, never inside another template.
    with translation.override(language):
        text = plain(render_layout("automations/emails/recovery.txt", layout))
        html = plain(render_layout("automations/emails/recovery.html", layout))
    message_id = message_id_for(idempotency_key)
    headers = {
        "From": _from_address(store),
        "Message-ID": message_id,
        "X-Comeback-Idempotency-Key": idempotency_key,
    }
    if context["unsubscribe_url"]:
        # RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs to this URL.
        headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return RenderedEmail(
        to=to or abandoned_checkout.buyer_email,
        subject=subject,
        text=text,
        html=html,
        headers=headers,
        message_id=message_id,
        idempotency_key=idempotency_key,
    )


def text_message(*, abandoned_checkout: AbandonedCheckout, store: Store, source: str, discount_code: str = "") -> str:
    """The buyer's text: the step's words, else the default in the buyer's language."""
    source = defaults.text_message_for(message_language(abandoned_checkout, store), source)
    context = message_context(abandoned_checkout, store, discount_code=discount_code)
    return render(source, context, autoescape=False)


def staff_text(*, abandoned_checkout: AbandonedCheckout, store: Store, source: str) -> str:
    context = message_context(abandoned_checkout, store)
    return " ".join(render(source or defaults.STAFF_MESSAGE, context, autoescape=False).split())[:500]
