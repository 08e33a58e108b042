"""The evaluation behind ``feedwatch bench answers`` (no click, no printing).

Every source of scenes — family a (:mod:`pipeline.scenes.watch`), family b
(:mod:`pipeline.familyb`), or a directory of clips from outside — becomes the same
thing: MP4 clips, each with a JSON truth sidecar ``{"target": "a red circle",
"events": [[on, off], ...]}`` (:mod:`.scenes`). One code path scores them
(:mod:`.run`): frames decoded as a stream and sampled at 1 fps, encoded in small
batches, a rolling window of them answered by each ``clip`` mode (:mod:`.stream`,
:mod:`.passes`);
window agreement and the event-level metrics are in :mod:`.metrics`.
"""
