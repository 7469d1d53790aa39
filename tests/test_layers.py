"""The pure layers never import Trio (DESIGN.md section 1)."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["gatewayops.protocol", "gatewayops.store", "gatewayops._question_text"]
)
def test_pure_layer_does_not_import_trio(module: str) -> None:
    """Importing a pure layer in a fresh interpreter leaves `trio` out of sys.modules."""
    code = f"import sys, {module}; print('trio' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
