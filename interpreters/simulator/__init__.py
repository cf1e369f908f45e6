"""The simulator the interpreter functions (interpreters/*.py) run in:

* trace.py: the execution state of one run and the per-context traces it records;
* races.py: the race detector (DMA against everything else touching the scratchpad,
  programs against programs, the contexts of a parallel region against each other);
* cycle_counter.py: the listener that charges each executed op its price (costs/);
* blocks.py: blocks compiled into steps; prepared.py: a module prepared once per machine;
* timing.py: the discrete-event replay of the traces on the machine's shared resources;
* report.py: what a run reports; runner.py: `xnpu.run`, which ties them together.
"""
