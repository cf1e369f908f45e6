"""Everyday PyTorch functions (xnpu/kernels/everyday.py) through torch.compile: every
kernel on the NPU at every level, no operator left on the host, results as eager
PyTorch gives them."""

from __future__ import annotations

import pytest
import torch

import xnpu
from xnpu.kernels.everyday import EVERYDAY
from xnpu.transforms.pipelines import LEVELS


@pytest.mark.parametrize("name", EVERYDAY)
def test_everyday_functions_run_on_the_npu_at_every_level(name):
    function, args = EVERYDAY[name]
    torch._dynamo.reset()
    compiled = torch.compile(function, backend="xnpu")
    want = function(*args)
    cycles = {}
    for level in LEVELS:
        with xnpu.session(level=level) as launches:
            got = compiled(*args)
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
        assert launches.launches and all(launch.report for launch in launches.launches)
        assert launches.host_ops == []
        assert "not in the total" not in str(launches)
        cycles[level] = launches.cycles
    assert cycles["vec"] < cycles["scalar"]
