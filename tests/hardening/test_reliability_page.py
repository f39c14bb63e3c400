"""docs/reliability.md shows the bad-input table that the suite actually runs (no drift)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_reliability_page_holds_the_current_bad_input_table():
    out = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "hardening" / "bad_input_table.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    rows = [line for line in out.splitlines() if line.startswith("| `")]
    assert len(rows) > 50
    page = (ROOT / "docs" / "reliability.md").read_text()
    missing = [r for r in rows if r not in page]
    assert not missing, f"{len(missing)} rows differ; regenerate with tests/hardening/bad_input_table.py: {missing[:3]}"
