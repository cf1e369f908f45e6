"""The cycle-counting interpreter of xnpu's lowered IR (arrives with the scalar baseline)."""
