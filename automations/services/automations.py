"""Creating and changing automations and their steps."""

from django.db import transaction
from django.forms import BaseInlineFormSet, ModelForm

from checkouts.models import Store

from ..messages import defaults
from ..models import Automation, AutomationStep, HoldoutChange, StepTranslation

DEFAULT_NAME = "Recovery email"


def automation_create_default(*, store: Store) -> Automation:
    """A new store's starting point: email the buyer an hour after abandonment (Baymard and
    BigCommerce's first touch), on, with the email in a few languages besides English."""
    with transaction.atomic():
        automation = Automation.objects.create(store=store, name=DEFAULT_NAME, active=True, require_email=True)
        step = AutomationStep.objects.create(
            automation=automation,
            position=1,
            delay_value=1,
            delay_unit=AutomationStep.Unit.HOURS,
            action=AutomationStep.Action.EMAIL_BUYER,
            subject=defaults.EMAIL_SUBJECT,
            body=defaults.EMAIL_BODY,
        )
        StepTranslation.objects.bulk_create(
            [
                StepTranslation(step=step, language=language, subject=subject, body=body)
                for language, (subject, body) in defaults.EMAIL_TRANSLATIONS.items()
            ]
        )
    return automation


def automation_save(*, store: Store, form: ModelForm, steps: BaseInlineFormSet) -> Automation:
    """Create or update an automation of `store` and its steps from validated forms, in one
    transaction, noting a changed holdout share in the same transaction.

    The share before the change is read under the row's lock, so two saves racing each note
    the change they made, not a stale one.
    """
    with transaction.atomic():
        automation = form.save(commit=False)
        automation.store = store
        before = None
        if automation.pk is not None:
            before = (
                Automation.objects.for_store(store)
                .select_for_update()
                .filter(pk=automation.pk)
                .values_list("holdout_percent", flat=True)
                .first()
            )
        automation.save()
        if before is not None:
            automation_holdout_change_record(automation=automation, before=before)
        steps.instance = automation
        steps.save()
    return automation


def step_translations_save(*, translations: BaseInlineFormSet) -> None:
    """Save a step's validated translations formset: added, changed and removed languages together."""
    with transaction.atomic():
        translations.save()


def automation_set_active(*, automation: Automation, active: bool) -> Automation:
    """Turn an automation on or off. Steps already scheduled stay on the schedule: while it is
    off they resolve as AUTOMATION_OFF when due; turned back on in time, they run."""
    Automation.objects.filter(pk=automation.pk).update(active=active)
    automation.active = active
    return automation


def automation_step_remove(*, step: AutomationStep) -> None:
    """Archive a step: its scheduled rows then resolve as STEP_REMOVED, each with its activity."""
    AutomationStep.objects.filter(pk=step.pk).update(archived=True)
    step.archived = True


def automation_holdout_change_record(*, automation: Automation, before: int) -> HoldoutChange | None:
    """Note a changed holdout share (called in the save's transaction), so the report can say
    which share applied when. Nothing to note if it did not change."""
    if before == automation.holdout_percent:
        return None
    return HoldoutChange.objects.create(automation=automation, before=before, after=automation.holdout_percent)
