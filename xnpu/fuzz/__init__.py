"""
xnpu's generative differential fuzzer: random Triton kernels (generate.py), Triton's
own interpreter as the oracle in a process of its own (oracle.py), every level and
option variant of xnpu compared with it and classified as a match, a named refusal or
a defect (runner.py), many cases over worker processes with a timeout for hangs
(campaign.py), and the command `python -m xnpu.fuzz` (__main__.py). The README's
"Fuzzing" section says what the generator covers.
"""
