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


def search_fold(text: str) -> str:
    """Casefolded, accents removed: the form both the column and the search terms take."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text or "").casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def phone_digits(text: str) -> str:
    return _NON_DIGITS.sub("", text or "")


def search_text_for(
    *, first_name: str = "", last_name: str = "", buyer_email: str = "", phone: str = "", order_id: str = ""
) -> str:
    """The column's value. Space-separated, so a term never matches across two fields."""
    parts = [search_fold(first_name), search_fold(last_name), search_fold(buyer_email), phone_digits(phone)]
    if order_id:
        parts.append(search_fold(order_id))
    return " ".join(part for part in parts if part)


def search_terms(value: str, *, limit: int) -> list[list[str]]:
    """Per word typed, the folded forms any one of which must occur in the column. A phone number
    typed with spaces ("+1 555 010 0199") is one term: its digits."""
    digits = phone_digits(value)
    if len(digits) >= PHONE_MIN_DIGITS and _PHONE_CHARS.fullmatch(value.strip()) and " " in value.strip():
        return [[digits]]
    terms = []
    for word in value.split()[:limit]:
        forms = [search_fold(word)]
        digits = phone_digits(word)
        if len(digits) >= PHONE_MIN_DIGITS and _PHONE_CHARS.fullmatch(word) and digits != forms[0]:
            forms.append(digits)
        terms.append([form for form in forms if form])
    return [forms for forms in terms if forms]
