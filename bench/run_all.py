"""`make bench`: every benchmark in this folder, one after the other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
# Smaller than their defaults, to keep `make bench` short; run a script alone for the full size.
ARGS = {
    "chat.py": ["--chats", "50", "--seconds", "10", "--warmup", "3"],
    "invoice_run.py": ["--tenants", "100", "--rows", "200000"],
    "reports.py": ["--tickets", "200000", "--others", "20000"],
}
status = 0
for script in sorted(here.glob("*.py")):
    if script.name in ("run_all.py", "world.py", "mail_corpus.py", "kb_corpus.py"):  # helpers, not benchmarks
        continue
    print(f"== {script.name}", flush=True)
    command = [sys.executable, str(script), *ARGS.get(script.name, [])]
    status |= subprocess.run(command, check=False).returncode
sys.exit(status)
