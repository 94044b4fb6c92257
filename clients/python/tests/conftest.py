"""Starts the real local stack (four local models behind the controller) once per test session, on free
loopback ports, via the repository's test helper ``test/clients/python/local-stack.ts``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))

STARTUP_SECONDS = 180


@pytest.fixture(scope="session")
def stack() -> Iterator[Dict[str, Any]]:
    node = os.environ.get("EP_NODE", "node")
    child = subprocess.Popen(
        [node, "--import", "tsx", "test/clients/python/local-stack.ts"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first: Dict[str, Any] = {}

    def read_first_line() -> None:
        assert child.stdout is not None
        line = child.stdout.readline()
        if line:
            first.update(json.loads(line))

    reader = threading.Thread(target=read_first_line, daemon=True)
    reader.start()
    reader.join(STARTUP_SECONDS)
    if not first:
        child.kill()
        _, err = child.communicate(timeout=10)
        raise RuntimeError(f"the local stack did not start: {err.decode(errors='replace')[-2000:]}")
    try:
        yield first
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def set_fault(backend_url: str, fault: Dict[str, Any]) -> None:
    """Installs a fault on one local model server (``/_control/faults``)."""
    request = urllib.request.Request(
        backend_url + "/_control/faults",
        data=json.dumps(fault).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()


def clear_fault(backend_url: str) -> None:
    request = urllib.request.Request(backend_url + "/_control/faults", method="DELETE")
    urllib.request.urlopen(request, timeout=10).close()


def wait_until(check: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)
