"""`make bench`: every benchmark in this folder, one after the other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
status = 0
for script in sorted(here.glob("*.py")):
    if script.name in ("run_all.py", "world.py", "mail_corpus.py", "kb_corpus.py"):  # helpers, not benchmarks
        continue
    print(f"== {script.name}", flush=True)
    status |= subprocess.run([sys.executable, str(script)], check=False).returncode
sys.exit(status)
