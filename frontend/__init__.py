"""The front end: Triton kernels (hand-written or from Inductor) into the `tt` dialect."""
