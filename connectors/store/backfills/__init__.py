"""Backfill jobs in the store: the ``backfills`` table (:mod:`.schema`), its reads and
claims (:mod:`.jobs`) and its wire shape (:mod:`.wire`)."""
