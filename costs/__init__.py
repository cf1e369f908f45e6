"""What things cost on the machine model, in one place.

The values are the machine file's (machines/*.toml, each with its source; the loader
machines/__init__.py checks every key); how they combine is here:

* ops.py: one op's price, by its cost class (`COST_CLASS`), the memory space it
  touches, its vector registers, and the approximation a math function evaluates;
* transfers.py: a core-driven copy, a DMA descriptor and its bytes, fork and join;
* matrix.py: a product on the matrix unit (tile products, setup, accumulators);
* estimate.py: a block's cycles before it runs (the passes' profitability models).

The simulator (interpreters/simulator/) charges these prices as ops execute and
replays transfers with them; the passes read the same prices to decide.
"""
