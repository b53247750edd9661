"""scripts/demo as a new user runs it: broker, hub and two posts come up and sync."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def test_the_demo_starts_two_posts_that_sync_into_the_hub(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "demo.py"),
            "--seed-only",
            "--dir",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Post harbour-view/lobby-1" in result.stdout
    assert "Post sunrise-court/lobby-1" in result.stdout
    assert "badge 1001  PIN 2468" in result.stdout
    assert re.search(r"http://127\.0\.0\.1:\d+/sites/harbour-view/checkpoints\.pdf", result.stdout)
    # five seeded visits are to flats with an intercom: the gateway simulator rang them all
    assert (
        "demo: the simulated flats were rung and answered: 5 approved, 0 still pending"
        in result.stdout
    )
    assert "demo: the supervisor's mail for a severe incident is in" in result.stdout
    assert re.search(r"demo: both posts synced to the hub \(\d+ events\)", result.stdout)
    assert "badge 2002  PIN 8642 (both posts)" in result.stdout
    assert "demo: the guard added at the hub logs in at both posts" in result.stdout
