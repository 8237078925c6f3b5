"""``python -m sim`` is the ``sor`` command."""

from sim.cli import main

main(prog_name="sor")
