"""The one way a request narrows a tenant model to its store: `Model.objects.for_store(store)`."""

from typing import TYPE_CHECKING, Self
from uuid import UUID

from django.db import models

if TYPE_CHECKING:
    from .store import Store


class StoreScopedQuerySet(models.QuerySet):
    """Rows of a model that belongs to a store, directly or through its parents.

    `store_path` is the lookup from the model to its store. A model reached through a parent
    (a delivery through its endpoint) names the whole path, so scoping never needs a join
    spelled out by hand at the call site.
    """

    store_path = "store"

    def for_store(self, store: "Store | UUID") -> Self:
        """The rows of `store` (a `Store` or its id) only."""
        return self.filter(**{self.store_path: store})
