"""One module per ``feedwatch`` subcommand; each exposes ``command``."""
