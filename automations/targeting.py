"""Which buyers have completed an order before: the one targeting condition that needs a query."""

from collections.abc import Iterable

from checkouts.models import AbandonedCheckout, Checkout


def returning_buyers(*, abandoned_checkouts: Iterable[AbandonedCheckout]) -> set[tuple]:
    """(store id, email key) of the buyers among these checkouts who have completed an order in
    that store. One query for the whole batch, on the (store, email_key, completed_at) index."""
    pairs = {(ac.store_id, ac.email_key) for ac in abandoned_checkouts if ac.email_key}
    if not pairs:
        return set()
    found = (
        Checkout.objects.filter(
            store_id__in={store_id for store_id, _ in pairs},
            email_key__in={email for _, email in pairs},
            completed_at__isnull=False,
        )
        .values_list("store_id", "email_key")
        .distinct()
    )
    # Filtered by both sets, a row may pair one store's id with another store's email: keep
    # only the pairs asked about, so one store never learns of another's buyers.
    return pairs & set(found)
