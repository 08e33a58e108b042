"""Flags the benchmarks declare: each falls back to an environment variable named
after it, shown in ``--help`` with its default.

A flag that sets a perception setting (``--clip``, ``--alpha``, ``--k-prompt``) reads
that setting's own variable (``FEEDWATCH_PERCEPTION_CLIP``); a flag only a bench has
reads ``FEEDWATCH_BENCH_<FLAG>`` (``--seeds``: ``FEEDWATCH_BENCH_SEEDS``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from workers.cli.options import env_option, perception_option

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def bench_option(flag: str, *decls: str, **kwargs: Any) -> Decorator:
    """A bench-only flag with its ``FEEDWATCH_BENCH_`` variable."""
    return _named_env("FEEDWATCH_BENCH_", flag, decls, kwargs)


def bench_perception_option(flag: str, *decls: str, **kwargs: Any) -> Decorator:
    """A flag for a perception setting (its own variable), default shown."""
    return perception_option(flag, *decls, **{"show_default": True, **kwargs})


def _named_env(prefix: str, flag: str, decls: tuple[str, ...], kwargs: dict[str, Any]) -> Decorator:
    env = prefix + flag.lstrip("-").replace("-", "_").upper()
    return env_option(flag, *decls, env=env, **{"show_default": True, **kwargs})


def int_list(name: str, value: str) -> list[int]:
    """``"1,8,32"`` → ``[1, 8, 32]``; a click usage error naming the flag otherwise."""
    try:
        out = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        out = []
    if not out or min(out) < 1:
        raise click.BadParameter(f"{value!r}: comma-separated whole numbers >= 1",
                                 param_hint=name)
    return sorted(dict.fromkeys(out))


def finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A click callback for a number flag: NaN passes click's ``FloatRange`` (it compares
    false with both ends), so it is refused here, with the range the flag allows."""
    if value is not None and not math.isfinite(value):
        kind = param.type
        low = getattr(kind, "min", None)
        high = getattr(kind, "max", None)
        allowed = ("a finite number" + (f" of at least {low:g}" if low is not None else "")
                   + (f" {'and' if low is not None else 'of'} at most {high:g}"
                      if high is not None else ""))
        raise click.BadParameter(f"{value!r}: {allowed}", ctx=ctx, param=param)
    return value


def model_run_options(plot_help: str) -> Callable[[Any], Any]:
    """The options every model bench shares: --device, --precision, --json, --plot."""
    options = [
        perception_option("--device", default="auto", show_default=True, help="auto|cpu|cuda."),
        perception_option("--precision", type=click.Choice(["fp32", "int8"]), default="fp32",
                          show_default=True,
                          help="int8: CPU dynamic quantisation of the vision MLPs."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
        click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
                     default=None, help=plot_help),
    ]

    def apply(fn: Any) -> Any:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply
