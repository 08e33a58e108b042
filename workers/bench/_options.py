"""Flags the benchmarks declare: each falls back to an environment variable named
after it, shown in ``--help`` with its default.

A flag that sets a perception setting (``--clip``, ``--alpha``, ``--k-prompt``) reads
that setting's own variable (``FEEDWATCH_PERCEPTION_CLIP``); a flag only a bench has
reads ``FEEDWATCH_BENCH_<FLAG>`` (``--seeds``: ``FEEDWATCH_BENCH_SEEDS``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workers.cli.options import env_option

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def bench_option(flag: str, *decls: str, **kwargs: Any) -> Decorator:
    """A bench-only flag with its ``FEEDWATCH_BENCH_`` variable."""
    return _named_env("FEEDWATCH_BENCH_", flag, decls, kwargs)


def perception_option(flag: str, *decls: str, **kwargs: Any) -> Decorator:
    """A flag for a perception setting, falling back to that setting's variable."""
    return _named_env("FEEDWATCH_PERCEPTION_", flag, decls, kwargs)


def _named_env(prefix: str, flag: str, decls: tuple[str, ...], kwargs: dict[str, Any]) -> Decorator:
    env = prefix + flag.lstrip("-").replace("-", "_").upper()
    return env_option(flag, *decls, env=env, **{"show_default": True, **kwargs})
