"""The frame index: every encoded frame's embedding, time and thumbnail, for history.

``schema`` is the ``frames`` table, ``codec`` the embedding and grid encodings,
``index`` the :class:`~connectors.store.frames.index.FrameIndex` store API (batched
writes, reads, search), ``nearest`` the exact (numpy / SQL) and approximate
(pgvector HNSW) nearest-frame queries behind search.
"""
