"""`kempelen jobs` as an operator runs it: a real process on a fresh instance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def test_kempelen_jobs_on_a_fresh_instance(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEMPELEN_")}
    env["KEMPELEN_DATA_DIR"] = str(tmp_path / "data")

    def kempelen(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "kempelen"), *args], env=env, capture_output=True, text=True, timeout=120,
                              check=False)

    assert kempelen("migrate").returncode == 0
    status = kempelen("jobs")
    assert status.returncode == 0, status.stderr
    assert "Due now: 0" in status.stdout and "Dead: none" in status.stdout
    once = kempelen("jobs", "run-once")
    assert once.returncode == 0, once.stderr
    assert once.stdout.startswith("One pass: HITs settled 0, emails sent 0")
    retry = kempelen("jobs", "retry", "7")
    assert (retry.returncode, retry.stderr.strip()) == (
        1, "kempelen jobs retry: There is no job 7: it may have succeeded meanwhile (see `kempelen jobs`)."
    )
