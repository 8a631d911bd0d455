"""The benchmark scripts' virtual environments: a script re-executes itself with the Python of
its own venv under ~/.cache/boundary-loss/ (made on first use, outside the repository), or with
the Python or venv that an environment variable names."""
import os
import subprocess
import sys
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "boundary-loss"
_INSIDE = "BOUNDARY_LOSS_BENCH_PYTHON"


def run_inside(venv_name, packages, override=None, setup=None):
    """Returns at once when already re-executed; otherwise finds the Python (the venv or Python
    named by the environment variable `override`, else CACHE/venv_name, created with `packages`
    when missing), calls `setup(python)` and re-executes the calling script with it."""
    if os.environ.get(_INSIDE):
        return
    wanted = os.environ.get(override) if override else None
    if wanted:
        python = Path(wanted) / "bin" / "python" if Path(wanted).is_dir() else Path(wanted)
    else:
        python = CACHE / venv_name / "bin" / "python"
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(CACHE / venv_name)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    if setup:
        setup(python)
    os.environ[_INSIDE] = str(python)
    os.execv(str(python), [str(python), sys.argv[0], *sys.argv[1:]])
