"""Benchmarks behind ``feedwatch bench``: each module exposes a click ``command``."""
