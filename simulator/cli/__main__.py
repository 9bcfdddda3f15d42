"""`python -m simulator.cli ...`: the same as `urbsd ...`."""

from simulator.cli import entry

entry()
