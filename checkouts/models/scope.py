"""The one way a request narrows a tenant model to its store: `Model.objects.for_store(store)`."""

from typing import Self

from django.db import models


class StoreScopedQuerySet(models.QuerySet):
    """Rows of a model that belongs to a store, directly or through its parents.

    `store_path` is the lookup from the model to its store. A model reached through a parent
    (a delivery through its endpoint) names the whole path, so scoping never needs a join
    spelled out by hand at the call site.
    """

    store_path = "store"

    def for_store(self, store) -> Self:
        return self.filter(**{self.store_path: store})
