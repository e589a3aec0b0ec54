"""Setting an automation's discount offer and uploading its pool of single-use codes."""

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Automation, DiscountCode, DiscountOffer
from ..models.discounts import CODE_MAX_LENGTH

# A CSV of this size holds well over 50,000 codes: more than a store hands out in a season, and
# small enough to parse inside one request.
MAX_UPLOAD_BYTES = 1024 * 1024
# What a spreadsheet's first row says when it is a header, not a code.
HEADERS = frozenset({"code", "codes", "coupon", "coupon code", "discount code", "discount_code"})
# Rows per INSERT and per lookup of codes already in the pool.
CHUNK = 1000


def code_problem(code: str) -> str:
    """Why `code` cannot be a discount code ("" if it can): a code is typed at checkout, so one
    word of printable characters."""
    if not code:
        return "empty"
    if len(code) > CODE_MAX_LENGTH:
        return f"longer than {CODE_MAX_LENGTH} characters"
    if not code.isprintable() or any(ch.isspace() for ch in code):
        return "contains spaces or invisible characters"
    return ""


@dataclass
class CodeUpload:
    added: int = 0
    duplicates: int = 0
    bad_rows: list[tuple[int, str]] = field(default_factory=list)  # (line, why), the first few

    @property
    def bad(self) -> int:
        return len(self.bad_rows)


def _codes_read(data: bytes) -> tuple[list[str], CodeUpload]:
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // 1024} kB: split it.", code="size")
    try:
        # utf-8-sig: Excel writes a byte-order mark in front of the first code.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("The file is not UTF-8 text: save it as CSV (UTF-8).", code="encoding") from exc
    report, codes, seen = CodeUpload(), [], set()
    for line, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        code = row[0].strip() if row else ""
        if not code and not any(cell.strip() for cell in row):
            continue  # a blank line
        if line == 1 and code.lower() in HEADERS:
            continue
        if problem := code_problem(code):
            report.bad_rows.append((line, problem))
            continue
        if code in seen:
            report.duplicates += 1
            continue
        seen.add(code)
        codes.append(code)
    return codes, report


def discount_codes_upload(*, automation: Automation, data: bytes) -> CodeUpload:
    """Add the codes of a CSV file (first column; a header row, blank lines and a BOM are fine)
    to the automation's pool. Codes already in the pool or repeated in the file are counted as
    duplicates, malformed rows as bad; the rest are added. Raises ValidationError for a file
    that cannot be read at all, or that holds no code."""
    codes, report = _codes_read(data)
    if not codes and not report.duplicates:
        raise ValidationError("The file holds no discount code.", code="empty")
    with transaction.atomic():
        offer, _ = DiscountOffer.objects.get_or_create(automation=automation)
        for start in range(0, len(codes), CHUNK):
            chunk = codes[start : start + CHUNK]
            existing = set(
                DiscountCode.objects.filter(automation=automation, code__in=chunk).values_list("code", flat=True)
            )
            new = [c for c in chunk if c not in existing]
            report.duplicates += len(chunk) - len(new)
            # ignore_conflicts: an upload of the same file in another tab at the same time.
            DiscountCode.objects.bulk_create(
                [DiscountCode(store_id=automation.store_id, automation=automation, code=c) for c in new],
                ignore_conflicts=True,
            )
            report.added += len(new)
        changes = {"low_warned_at": None}
        if offer.source == DiscountOffer.Source.NONE and report.added:
            # Uploading codes says "use them": a merchant should not have to flip a second switch.
            changes["source"] = DiscountOffer.Source.POOL
        DiscountOffer.objects.filter(pk=offer.pk).update(**changes)
    report.bad_rows = report.bad_rows[:20] + ([(0, f"and {report.bad - 20} more")] if report.bad > 20 else [])
    return report


def discount_offer_save(*, form) -> DiscountOffer:
    """Save the offer form (a DiscountOfferForm bound to the automation's offer)."""
    with transaction.atomic():
        return form.save()
