"""What a run imports before it can score: nothing that only the checks' statistics need."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_runner_readers_and_checks_import_no_heavy_library() -> None:
    # A fresh interpreter: this test process has long imported everything.
    code = (
        "import sys, json\n"
        "import worker.engine.__main__, worker.engine.runner, worker.engine.readers\n"
        "from worker.engine.checks import CHECKS\n"
        "heavy = ('torch', 'transformers', 'scipy', 'evaluate', 'datasets', 'pandas')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == []
