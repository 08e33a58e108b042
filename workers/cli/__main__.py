"""``python -m workers.cli``: the ``feedwatch`` command, for child processes."""

from workers.cli.main import entrypoint

entrypoint()
