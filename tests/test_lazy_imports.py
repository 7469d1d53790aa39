"""Packages import what a caller does not need lazily, and every exported name still
resolves (#18)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from gatewayops._lazy import LazyExports

PACKAGES = ["gatewayops", "gatewayops.protocol", "gatewayops.store"]


def test_importing_the_store_leaves_the_v2_codec_diffing_and_invariants_unimported() -> None:
    """A fresh `import gatewayops.store` loads no protocol v2 codec (the store knows v2's
    message classes, the socket task alone decodes and encodes them), nor the store's
    diffing or invariant modules, nor msgspec (the JSON parser, needed at the first frame)."""
    code = (
        "import sys, gatewayops.store; print(sorted(m for m in sys.modules"
        " if m.endswith(('_v2_codec', '_v2_encoding', '_v2_client_codec', '_diff',"
        " '_invariants')) or m.startswith('msgspec')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package: str) -> None:
    """Each name in a package's `__all__`, lazy or not, is an attribute of it."""
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


def test_a_lazy_name_is_the_defining_modules_object() -> None:
    """A lazily exported name is the very object its submodule defines."""
    from gatewayops.protocol import _v2_codec, decode_mux

    assert decode_mux is _v2_codec.decode_mux


def test_an_unknown_name_raises_attribute_error_naming_it() -> None:
    """Asking a lazy table for a name it does not hold is an `AttributeError` naming the
    package and the name."""
    lazy = LazyExports("gatewayops.store", {"gatewayops.store._diff": ("diff",)})
    with pytest.raises(AttributeError, match=r"'gatewayops\.store' has no attribute 'nope'"):
        lazy.load("nope")
