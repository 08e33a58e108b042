"""History wiring: the frame writer, text search, backfill and retention settings."""
