"""The list's search column: what a merchant may type to find a buyer, folded the same way on
the way in (ingest, the sweep's snapshot, a save) and on the way out (the search box).

Folding: compatibility decomposition (NFKD), combining marks dropped, then casefold, so
"MÜLLER", "Müller" and "muller" are one word, in every script that writes accents as combining
marks. Phone numbers are kept as digits only, so "+1 (555) 010-0100" and "5550100100" meet.
"""

import re
import unicodedata

# A term with at least this many digits and nothing but phone punctuation is also looked up as
# digits only: fewer would match parts of order ids and house numbers everywhere.
PHONE_MIN_DIGITS = 4
_PHONE_CHARS = re.compile(r"[\d\s()+./-]+")
_NON_DIGITS = re.compile(r"\D+")
# Where a word may start inside a name, an email or an order id.
_SEPARATORS = " .@_+'-"
_SEPARATOR = re.compile(r"[\s.@_+'-]+")


def search_fold(text: str) -> str:
    """Casefolded, accents removed: the form both the column and the search terms take."""
    text = text or ""
    if text.isascii():  # NFKD leaves ASCII as it is, and casefold is lower there
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def phone_digits(text: str) -> str:
    return _NON_DIGITS.sub("", text or "")


def _words(value: str) -> list[str]:
    """The folded value and every tail of it that starts after a separator: "ada.lovelace@example.org"
    gives "lovelace@example.org", "example.org" and "org" too, so a term can start at any of them."""
    folded = search_fold(value).strip()
    if not folded:
        return []
    return [folded, *(folded[match.end() :] for match in _SEPARATOR.finditer(folded) if match.end() < len(folded))]


def search_text_for(
    *, first_name: str = "", last_name: str = "", buyer_email: str = "", phone: str = "", order_id: str = ""
) -> str:
    """The column's value: words, each after a space, so a term matches the start of a word (of a
    name, of a part of an email, of an order id) and never runs across two fields. The phone's
    digits come last, matched anywhere (a number is typed without its country code)."""
    words = [*_words(first_name), *_words(last_name), *_words(buyer_email), *_words(order_id)]
    digits = phone_digits(phone)
    return "".join(f" {word}" for word in [*words, digits] if word)


def search_terms(value: str, *, limit: int) -> list[list[str]]:
    """Per word typed, the patterns any one of which must occur in the column: " word" (the start
    of a word) or, for something shaped like a phone number, its digits anywhere. A phone number
    typed with spaces ("+1 555 010 0199") is one term."""
    digits = phone_digits(value)
    if len(digits) >= PHONE_MIN_DIGITS and _PHONE_CHARS.fullmatch(value.strip()) and " " in value.strip():
        return [[digits]]
    terms = []
    for word in value.split()[:limit]:
        folded = _SEPARATOR.sub(" ", search_fold(word)).strip()
        # "@example.org" means "example.org": a separator cannot start a word.
        forms = [f" {search_fold(word).lstrip(_SEPARATORS)}"] if folded else []
        digits = phone_digits(word)
        if len(digits) >= PHONE_MIN_DIGITS and _PHONE_CHARS.fullmatch(word):
            forms.append(digits)
        if forms:
            terms.append(forms)
    return terms
