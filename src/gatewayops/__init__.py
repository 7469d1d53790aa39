"""gatewayops: a client for the agent gateway protocol, as a store with a pure reducer core.

Layers (DESIGN.md section 1): `gatewayops.protocol` (wire messages and codec) and
`gatewayops.store` (the pure reducer) are pure; `gatewayops.transport` and
`gatewayops.effects` run them on Trio.
"""

from gatewayops._version import __version__

__all__ = ["__version__"]
