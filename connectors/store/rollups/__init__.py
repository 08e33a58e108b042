"""Answers over time: runs and per-minute rollups per (query, camera).

Kept as answers are stored (:mod:`.maintain`, called by
:meth:`connectors.store.Store.insert_answers` in the insert's transaction), read by
:mod:`.reads` (summaries in buckets, runs), rebuilt from stored answers by
:mod:`.rebuild`; the definitions are in :mod:`.series` and ``docs/answers-over-time.md``.
"""
