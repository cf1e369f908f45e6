"""xnpu's interpreter: functional execution on numpy (one InterpreterFunctions per
dialect), the traces it records, the timing engine that replays them on a machine
model (machines/*.toml), and `run`, which ties them together."""
