"""The one way the checkout lifecycle tells other apps what happened.

Receivers run inside the transaction that made the change, so whatever they write commits
or rolls back with it. `automations` connects to these in its AppConfig.ready; checkouts
never imports automations.
"""

from django.dispatch import Signal

# abandoned_checkouts: list[AbandonedCheckout], all of them new, in one sweep batch, and not written
# yet. A receiver writes only rows of its own (their foreign keys to these ids are checked at
# commit) and returns the activities it logged about them (`activities_insert`), or None: the
# sweep writes each row with its newest activity's type and time, and its `created` event with
# its activities.
abandoned_checkouts_created = Signal()
# abandoned_checkout: AbandonedCheckout, just marked RECOVERED by this transaction;
# order_checkout: the completed Checkout that recovered it, or None (marked by hand).
abandoned_checkout_recovered = Signal()
# abandoned_checkout_id: UUID, email_key: str, clicked_at: datetime: a counted click on the recovery
# link of the email whose idempotency key is `email_key` (see `recovery_links`).
recovery_link_clicked = Signal()
# abandoned_checkout_ids: list[UUID] about to be deleted.
abandoned_checkouts_deleting = Signal()
# abandoned_checkout: AbandonedCheckout, its buyer being erased by this transaction (before the
# activities' details are cleared and the `updated` event is written). A receiver may return a
# {kind: count} dict of the rows it erased; a buyer's erasure record adds them up.
abandoned_checkout_anonymising = Signal()
# store: Store, email_key: str (lower-cased): a buyer being erased by this transaction, after each
# of their abandoned checkouts went through `abandoned_checkout_anonymising`. Receivers erase
# whatever they keep by address rather than by checkout, and may return {kind: count} too.
buyer_erasing = Signal()
# store: Store, just created (a new tenant gets its default automation from this).
store_created = Signal()
