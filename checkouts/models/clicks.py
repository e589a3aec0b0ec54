"""Who has clicked a recovery link lately, so a click counts once per visitor and window."""

from django.db import models

from .checkout import AbandonedCheckout
from .scope import StoreScopedQuerySet


class RecoveryLinkVisitQuerySet(StoreScopedQuerySet):
    store_path = "abandoned_checkout__store"


class RecoveryLinkVisit(models.Model):
    """One visitor of one recovery link: a keyed hash of their address and browser, and when it last counted.

    The row is the lock: the first click inserts it (the unique constraint settles a race), a
    later one counts only if it moves `counted_at` forward past the window with a conditional
    UPDATE. Both hold across processes, on PostgreSQL and SQLite alike.
    """

    abandoned_checkout = models.ForeignKey(
        AbandonedCheckout, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    visitor = models.CharField(max_length=64, help_text="HMAC-SHA256 of the client address and user agent.")
    counted_at = models.DateTimeField()

    objects = RecoveryLinkVisitQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["abandoned_checkout", "visitor"], name="recovery_link_visit_once"),
        ]

    def __str__(self) -> str:
        return f"{self.abandoned_checkout_id} · {self.visitor[:8]}"
