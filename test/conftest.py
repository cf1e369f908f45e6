"""Fixtures the test files share."""

import pytest

from xnpu.triton.launch import driver_active


@pytest.fixture
def xnpu_driver():
    """xnpu's driver active for one test, and whatever was active before put back."""
    with driver_active():
        yield
