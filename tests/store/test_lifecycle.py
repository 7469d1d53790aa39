"""The lifecycle tables, their Mermaid rendering, and the generated docs/lifecycle.md."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from gatewayops.store import (
    CONNECTION_TABLE,
    IGNORED,
    OPERATION_TABLE,
    ConnectionEvent,
    ConnectionStatus,
    OperationEvent,
    OperationStatus,
    mermaid,
    transition,
)

ROOT = Path(__file__).resolve().parents[2]
_FINISHED = OperationStatus.FINISHED
SCRIPT = ROOT / "scripts" / "gen_lifecycle_docs.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_lifecycle_docs", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_lifecycle_doc_is_up_to_date() -> None:
    """docs/lifecycle.md equals the generator's output (run the script if this fails)."""
    committed = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    assert committed == _generator().render(), "run: python scripts/gen_lifecycle_docs.py"


def test_lifecycle_doc_embeds_both_generated_diagrams() -> None:
    """The page carries the Mermaid diagrams of both tables, verbatim."""
    text = _generator().render()
    assert mermaid(OPERATION_TABLE, OperationStatus.RUNNING) in text
    assert mermaid(CONNECTION_TABLE, ConnectionStatus.DISCONNECTED) in text


def test_finished_has_no_outgoing_transitions() -> None:
    """FINISHED is absorbing: every entry that starts from it is IGNORED (finishing
    again changes nothing), and no other event is even looked up for it."""
    leaving = {key: target for key, target in OPERATION_TABLE.items() if key[0] is _FINISHED}
    assert leaving == {(_FINISHED, OperationEvent.FINISH): IGNORED}
    assert transition(OPERATION_TABLE, _FINISHED, OperationEvent.FINISH) is None
    for event in (OperationEvent.DETACH, OperationEvent.ATTACH):
        with pytest.raises(KeyError):
            transition(OPERATION_TABLE, _FINISHED, event)


def test_finished_has_no_outgoing_edge_in_the_diagram() -> None:
    """The generated operation diagram has no edge leaving FINISHED."""
    diagram = mermaid(OPERATION_TABLE, OperationStatus.RUNNING)
    assert "FINISHED -->" not in diagram
    assert "--> FINISHED: finish" in diagram


def test_every_operation_status_can_finish_except_finished() -> None:
    """Running and detached operations can both reach FINISHED."""
    for status in (OperationStatus.RUNNING, OperationStatus.DETACHED):
        assert OPERATION_TABLE[(status, OperationEvent.FINISH)] is OperationStatus.FINISHED


def test_close_applies_in_every_connection_status() -> None:
    """Finishing or detaching can always close the link, whatever its status."""
    for status in ConnectionStatus:
        assert CONNECTION_TABLE[(status, ConnectionEvent.CLOSE)] is ConnectionStatus.DISCONNECTED


def test_every_connection_status_is_reachable_from_disconnected() -> None:
    """Each connection status appears in the table as reachable from the initial one
    (through entries that move: IGNORED ones lead nowhere)."""
    reached = {ConnectionStatus.DISCONNECTED}
    frontier = [ConnectionStatus.DISCONNECTED]
    while frontier:
        source = frontier.pop()
        for (start, _event), target in CONNECTION_TABLE.items():
            if start is source and target is not IGNORED and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(ConnectionStatus)


def test_mermaid_lists_one_edge_per_pair_with_all_events() -> None:
    """Two events between the same statuses share one edge label."""
    diagram = mermaid(CONNECTION_TABLE, ConnectionStatus.DISCONNECTED)
    assert diagram.startswith("stateDiagram-v2\n    [*] --> DISCONNECTED\n")
    assert "    RECONNECTING --> CONNECTING: backoff_elapsed, redial\n" in diagram


@pytest.mark.parametrize("seed", ["1", "2"])
def test_mermaid_output_does_not_depend_on_the_hash_seed(seed: str) -> None:
    """The rendering is the same in every interpreter (the table is partly built from sets)."""
    code = (
        "from gatewayops.store import CONNECTION_TABLE, ConnectionStatus, mermaid;"
        "print(mermaid(CONNECTION_TABLE, ConnectionStatus.DISCONNECTED), end='')"
    )
    env = {**os.environ, "PYTHONHASHSEED": seed}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert result.stdout == mermaid(CONNECTION_TABLE, ConnectionStatus.DISCONNECTED)


def test_generator_check_mode_passes_on_the_committed_page() -> None:
    """`gen_lifecycle_docs.py --check` exits 0 when the page is current."""
    assert _generator().main(["--check"]) == 0
