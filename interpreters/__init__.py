"""xnpu's interpreter functions, one `InterpreterFunctions` class per dialect (arith,
math, memref, scf, spm, vector, hwctx, func, cf): what each op computes on numpy data.

The simulator they run in lives apart, in interpreters/simulator/: the execution
state and its traces, the race detector, the cycle counter, the timing engine, the
report, and `run`, which puts the functions together and runs a module."""
