"""Garbage-collector tuning that is safe for any process following many operations.

Owns: `freeze_startup_objects`, which collects once and then moves every object alive
at that moment (modules, classes, functions, constants: what imports and start-up made,
and which live as long as the process) to the collector's permanent generation, so no
later collection traverses them again. Nothing is lost: frozen objects are still freed
by reference counting, and only cycles among them would wait for `gc.unfreeze()`. The
command line calls it once its command's modules are imported; an application embedding
the client may call it after its own start-up (docs/performance.md). It changes no
threshold and never disables the collector. Must not know: anything of gatewayops.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_startup_objects"]


def freeze_startup_objects() -> int:
    """Collect, then freeze every object alive now out of later collections.

    Call it once, after start-up (imports done, before following operations): each
    full collection afterwards traverses only what was made since.

    Returns:
        How many objects are frozen (`gc.get_freeze_count()`).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
