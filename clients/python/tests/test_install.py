"""What a new user does: ``pip install ./clients/python`` into a fresh virtualenv (offline: no index is
reachable in tests), then run the README's first Python example against the running stack."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any, Dict

import pytest
from conftest import ROOT


def readme_python_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use from Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "README's 'Use from Python' has no python example"
    return blocks[0]


def build_tools_missing() -> str:
    missing = []
    for module in ("setuptools", "wheel", "ensurepip"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    return ", ".join(missing)


def test_pip_install_in_a_fresh_venv_then_the_readme_example_runs(
    stack: Dict[str, Any], tmp_path: Path
) -> None:
    missing = build_tools_missing()
    if missing:
        message = f"{sys.executable} lacks {missing} (Debian: python3-venv python3-setuptools python3-wheel)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # A copy, so the build leaves nothing behind in the checkout.
    source = tmp_path / "python"
    shutil.copytree(
        ROOT / "clients" / "python",
        source,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache"),
    )
    env_dir = tmp_path / "venv"
    # The system's setuptools and wheel build the package; no index is reachable here.
    venv.EnvBuilder(with_pip=True, system_site_packages=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-index", "--no-build-isolation", str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import ensembled_perplexity as ep, pathlib; p = pathlib.Path(ep.__file__).parent;"
            "print(p); print((p / 'py.typed').exists())",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    location, typed = probe.stdout.split()
    assert str(env_dir) in location and typed == "True"

    example = tmp_path / "example.py"
    example.write_text(readme_python_example(), encoding="utf-8")
    env = {**os.environ, "EP_URL": stack["url"], "EP_API_KEY": stack["key"], "PYTHONPATH": ""}
    run = subprocess.run(
        [str(python), str(example)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("0 ") and "llama-sotu" in lines[0]
