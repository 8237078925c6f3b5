"""Studies: one scenario run over many markets, with statistics a quant can trust.

A study expands a scenario's ``[study]`` table into markets (synthetic seeds, or
files, times symbols, times windows), runs every market exactly as ``sor run``
would on Dask workers, and summarises the paired per-market savings of every
strategy against every baseline (mean, confidence intervals, win rate) and the
swept strategy's out-of-sample savings. Modules, in the order data flows:

- ``spec``: the ``[study]`` table (imported by ``sim.scenario``; nothing heavy);
- ``markets``: the market list and each market's scenario;
- ``worker``: one market, run on a worker and reduced to its row;
- ``execute``: the Dask client, checkpoints on the way, failures;
- ``checkpoint``: the ``--resume`` folder;
- ``tdist``, ``stats``: Student's t and the per-cell statistics;
- ``selection``: choosing the swept strategy's parameters out of sample;
- ``summary``: the study result assembled from the rows.

The runner never imports this package (``sim.scenario`` imports ``spec`` only).
"""
