"""The one way the checkout lifecycle tells other apps what happened.

Receivers run inside the transaction that made the change, so whatever they write commits
or rolls back with it. `automations` connects to these in its AppConfig.ready; checkouts
never imports automations.
"""

from django.dispatch import Signal

# abandoned_checkouts: list[AbandonedCheckout], all of them new, in one sweep batch.
abandoned_checkouts_created = Signal()
# abandoned_checkout: AbandonedCheckout, just marked RECOVERED by this transaction.
abandoned_checkout_recovered = Signal()
# abandoned_checkout_ids: list[UUID] about to be deleted.
abandoned_checkouts_deleting = Signal()
# abandoned_checkout: AbandonedCheckout, its buyer being erased by this transaction (before the
# activities' details are cleared and the `updated` event is written).
abandoned_checkout_anonymising = Signal()
# store: Store, just created (a new tenant gets its default automation from this).
store_created = Signal()
