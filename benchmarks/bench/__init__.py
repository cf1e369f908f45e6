"""
xnpu-bench: the paper's experiments on a machine model, with every output checked
against PyTorch before its timing is reported.

    measure.py      one kernel at one level: lower, run, check, time (and the roofline)
    ladder.py       scalar -> vec -> vec+mt -> vec+mt+db, plus the variants DB is made of
    mt_scaling.py   one context against several, over problem sizes; the crossover
    db_sweep.py     DB's gain against arithmetic intensity (polynomials of rising degree)
    published.py    the figures measured on the real NPU (design.md §6)
    paper.py        those figures beside the simulated ones
    output.py       tables, JSON, CSV, PNG plots and the progress bar
    cli.py          the `xnpu-bench` command
"""
