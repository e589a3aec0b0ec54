"""HTML views: thin, store-scoped, calling services for every write."""
