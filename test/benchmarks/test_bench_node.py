"""benchmarks/isolation.py (used by bench_node.py, profile_node.py, soak_node.py) re-executes a benchmark isolated
without building a shell command from its arguments."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from script_loader import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_node.py"


def test_arguments_never_reach_the_shell_as_code(tmp_path, monkeypatch):
    module = load_script("bench_node")
    import isolation
    evil = f"it's'; touch {tmp_path / 'pwned'}; '"
    monkeypatch.delenv("DOPE_BENCH_ISOLATED", raising=False)
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--checkpoint", evil])
    calls = []
    monkeypatch.setattr(isolation.subprocess, "call", lambda argv: calls.append(argv) or 0)
    try:
        module.reexec_isolated(str(SCRIPT))
    except SystemExit:
        pass
    (argv,) = calls
    assert argv[:2] == ["bash", "-c"] and evil not in argv[2] and argv[-1] == evil
    # The same argv, run for real with a harmless command instead of the benchmark.
    probe = argv[:5] + [sys.executable, "-c", "import sys; print(sys.argv[1])", evil]
    out = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == evil and not (tmp_path / "pwned").exists()
