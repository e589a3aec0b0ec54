"""The language a buyer-facing page speaks: the buyer's when we know it and ship it, else the store's."""

from django.conf import settings
from django.utils import translation


def supported_language(*candidates: str | None) -> str:
    """The first of `candidates` ("fr-CA", "fr_ca", "ja") that has a catalogue (fr-CA reads French),
    else the site's default."""
    for candidate in candidates:
        code = (candidate or "").strip().lower().replace("_", "-")
        if not code:
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return translation.get_supported_language_variant(settings.LANGUAGE_CODE)
