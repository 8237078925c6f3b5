"""``python -m sim`` is the ``sor`` command."""

from sim.cli import main

# Guarded: Dask's worker processes start by importing the parent's main module.
if __name__ == "__main__":
    main(prog_name="sor")
