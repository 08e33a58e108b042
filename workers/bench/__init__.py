"""What ``feedwatch bench`` measures, one module per bench; the commands that run and
print them are in ``workers/cli/commands/bench`` (no click here)."""
