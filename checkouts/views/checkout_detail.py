"""One abandoned checkout: buyer, items, totals, recovery link, actions, timeline; delete and anonymise."""

from typing import Any

from django.contrib import messages
from django.db.models import F, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView

from ..extensions import checkout_actions
from ..models import AbandonedCheckout, Membership
from ..selectors import (
    abandoned_checkout_store_for_member,
    abandoned_checkout_timeline,
    abandoned_checkouts_for_store,
)
from ..services import abandoned_checkout_anonymise, abandoned_checkout_delete
from ..tenancy import store_choose
from ..wix import checkout_url
from .base import DashboardMixin
from .present import discounts_view, items_summary, line_items_view


class CheckoutMixin(DashboardMixin):
    """Loads `self.checkout` from the current store only: another store's id is a 404."""

    def checkout_queryset(self) -> QuerySet[AbandonedCheckout]:
        return abandoned_checkouts_for_store(store=self.store)

    def get_checkout(self) -> AbandonedCheckout:
        if not hasattr(self, "checkout"):
            self.checkout = get_object_or_404(self.checkout_queryset(), pk=self.kwargs["pk"])
        return self.checkout


class CheckoutDetailView(CheckoutMixin, TemplateView):
    template_name = "checkouts/detail.html"

    def checkout_queryset(self) -> QuerySet[AbandonedCheckout]:
        # When the buyer started the checkout, joined in rather than read in a query of its own.
        return super().checkout_queryset().annotate(started_at=F("checkout__created_at"))

    def get(self, request, *args, **kwargs):
        try:
            self.get_checkout()
        except Http404:
            # A link to a checkout of another of the person's stores (an email, a notification,
            # a colleague) switches there, as the store switcher would. Any other id stays a 404
            # that says nothing about whether the checkout exists.
            other = abandoned_checkout_store_for_member(user=request.user, abandoned_checkout_id=self.kwargs["pk"])
            if other is None:
                raise
            store_choose(request, other)
            messages.info(request, f"Switched to {other.name}.")
            return redirect(request.get_full_path())
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        ac = self.get_checkout()
        conversion = ac.conversion_currency if ac.conversion_currency and ac.conversion_currency != ac.currency else ""
        context.update(
            ac=ac,
            items=items_summary(ac.line_items),
            line_items=line_items_view(ac, self.store),
            discounts=discounts_view(ac, self.store),
            conversion_currency=conversion,
            recovery_url=checkout_url(ac.pk, self.store.pk),
            actions=[
                (action, action.unavailable(ac) if action.unavailable else "")
                for action in checkout_actions(bulk=False)
                if self.membership.allows(action.min_role)
            ],
            timeline=abandoned_checkout_timeline(abandoned_checkout=ac),
        )
        return context


class _ConfirmedChange(CheckoutMixin, TemplateView):
    """GET asks for confirmation, POST does it. Managers and owners only, both ways."""

    min_role = Membership.Role.MANAGER
    template_name = "checkouts/confirm.html"
    title = ""
    question = ""
    button = ""
    danger = True

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        ac = self.get_checkout()
        context.update(ac=ac, title=self.title, question=self.question, button=self.button, danger=self.danger)
        return context

    def post(self, request, *args, **kwargs):
        ac = self.get_checkout()
        self.perform(ac)
        return redirect(self.get_success_url(ac))

    def perform(self, ac: AbandonedCheckout) -> None:
        raise NotImplementedError

    def get_success_url(self, ac: AbandonedCheckout) -> str:
        return reverse("checkouts:detail", kwargs={"pk": ac.pk})


class CheckoutDeleteView(_ConfirmedChange):
    title = "Delete this abandoned checkout?"
    question = (
        "It disappears from the list, the API and every figure, and apps subscribed to webhooks receive a "
        "'deleted' event. This cannot be undone."
    )
    button = "Delete checkout"

    def perform(self, ac: AbandonedCheckout) -> None:
        abandoned_checkout_delete(abandoned_checkout_id=ac.pk, store=self.store)
        messages.success(self.request, f"Deleted the abandoned checkout of {ac.buyer_email or 'an anonymous buyer'}.")

    def get_success_url(self, ac: AbandonedCheckout) -> str:
        return reverse("checkouts:list")


class CheckoutAnonymiseView(_ConfirmedChange):
    title = "Anonymise this buyer?"
    question = (
        "The buyer's email, name, phone and company are erased here, from their checkout, its activities and "
        "every stored webhook payload (a GDPR erasure request). The checkout stays in your figures. "
        "This cannot be undone."
    )
    button = "Anonymise buyer"

    def perform(self, ac: AbandonedCheckout) -> None:
        abandoned_checkout_anonymise(abandoned_checkout_id=ac.pk, store=self.store, actor=self.request.user)
        messages.success(self.request, "The buyer's personal data was erased.")
