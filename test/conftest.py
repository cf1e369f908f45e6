"""Fixtures the test files share."""

import pytest
from triton.runtime import driver

import xnpu


@pytest.fixture
def xnpu_driver():
    """xnpu's driver active for one test, and whatever was active before put back."""
    previous = driver._active
    driver.set_active(xnpu.triton.Driver())
    yield
    driver._active = previous
