"""A/B tests of an email step: which variant a buyer gets, and its words."""

from typing import Any

from checkouts import signing as fast_signing

from ..models import AutomationStep
from .render import EmailTemplate, pick_template, step_template


def ab_variant(step: AutomationStep, abandoned_checkout_id: Any) -> str:
    """ "A" or "B" for a buyer of an A/B step, "" for any other step.

    Half and half by a keyed hash of the step and the checkout: random across checkouts (no
    merchant or buyer can steer it), yet the same for a retried send and its preview, and
    decided without a query or a shared counter, so the dispatcher's batches stay at a
    constant number of queries."""
    if not step.is_ab_test:
        return ""
    digest = fast_signing.salted_hmac("automations.ab-variant", f"{step.pk}:{abandoned_checkout_id}").digest()
    return "B" if digest[0] & 1 else "A"


def step_email(
    step: AutomationStep, language: str, abandoned_checkout_id: Any, *, variant: str = ""
) -> tuple[EmailTemplate, str]:
    """An email step's words for one buyer, and the A/B variant they carry ("" outside a test).

    Buyers whose language has a translation the merchant wrote for the step read that and are
    left out of the test (there is one variant B, in the step's own language): the two groups
    compared differ only by the variant. `variant` forces one (the preview shows both)."""
    return step_email_for(step_words(step, language), step, abandoned_checkout_id, variant=variant)


def step_words(step: AutomationStep, language: str) -> tuple[EmailTemplate, bool]:
    """What `step_email` decides once per step and language: the step's words in `language`, and
    whether its buyers take part in the A/B test. A batch keeps it for its buyers."""
    template = step_template(step, language)
    in_test = step.is_ab_test and not pick_template(None, {t.language: t for t in step.translations.all()}, language)
    return template, in_test


def step_email_for(
    words: tuple[EmailTemplate, bool], step: AutomationStep, abandoned_checkout_id: Any, *, variant: str = ""
) -> tuple[EmailTemplate, str]:
    """`step_email` from the step's `step_words` for the buyer's language."""
    template, in_test = words
    if not in_test:
        return template, ""
    variant = variant if variant in ("A", "B") else ab_variant(step, abandoned_checkout_id)
    if variant == "B":
        template = EmailTemplate(step.subject_b or template.subject, step.body_b or template.body)
    return template, variant
