"""History: frames kept after they leave the rolling buffer, searched and replayed.

``records`` turns an encoded frame into what the frame index stores (and back);
``moments`` groups scored frames into search hits; ``backfill`` answers a standing
question over stored frames the way the live path would have. Pure logic: the
store lives in :mod:`connectors.store.frames`.
"""
