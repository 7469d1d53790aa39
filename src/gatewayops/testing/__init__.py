"""Test tools for users of gatewayops (and for its own tests).

`TestStore` drives the pure reducer with exact expectations. Hypothesis strategies
live in `gatewayops.testing.strategies` and the model-based state machine in
`gatewayops.testing.state_machine`; both need the `test` extra (Hypothesis).
"""

from gatewayops.testing._test_store import TestStore, TestStoreFailure, resolve_path

__all__ = ["TestStore", "TestStoreFailure", "resolve_path"]
