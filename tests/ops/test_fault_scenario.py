"""The fault scenario (benchmarks/fault_bench.py), short: two app nodes and two job runners on PostgreSQL under
load from requesters and workers, one node and one runner killed with SIGKILL and started again, then every
invariant checked. The script exits non-zero on any violation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from tests.concurrency.kit import postgres_only

pytestmark = postgres_only

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "fault_bench.py"


def _server() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "postgres") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"


def test_killing_a_node_and_a_runner_under_load_breaks_no_invariant(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    bench = subprocess.Popen(
        [sys.executable, str(BENCH), "--seconds", "20", "--workers", "40", "--postgres", _server(),
         "--json", str(figures)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        out, _ = bench.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        bench.terminate()  # on SIGTERM the script stops its nodes and runners and drops its database
        out, _ = bench.communicate(timeout=60)
        pytest.fail("the fault scenario did not finish in 300 s:\n" + out[-8000:])
    assert bench.returncode == 0, out[-10000:]
    result = json.loads(figures.read_text())
    assert result["violations"] == {}
    # The faults happened, work went on around them, and there was something to check.
    happened = [event["what"] for event in result["timeline"]]
    assert any(w.startswith("SIGKILL node B") for w in happened) and "node B answers again" in happened
    assert any(w.startswith("SIGKILL runner A") for w in happened) and "runner A started again" in happened
    assert result["figures"]["after"]["submissions_per_s"] > 0
    assert result["database"]["payments"] > 0 and result["notifications"]["queued"] > 0
