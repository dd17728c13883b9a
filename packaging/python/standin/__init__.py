"""standin: a validating mock server for HTTP APIs, from their OpenAPI specs.

The wheel carries the ``standin`` binary; :class:`Server` runs ``standin serve`` on a free port
for as long as a test needs it (the pytest fixture ``standin`` is in :mod:`standin.pytest_plugin`).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.error
import urllib.request
from typing import Iterable, List, Optional, Sequence, Union

__all__ = ["Server", "binary", "StandinError"]

_LISTENING = re.compile(r"^standin: listening on (\S+)")


class StandinError(RuntimeError):
    """standin did not start (its output is in the message)."""


def binary() -> str:
    """The standin binary: the one installed beside this Python (the wheel's), else on PATH."""
    name = "standin.exe" if os.name == "nt" else "standin"
    scripts = sysconfig.get_path("scripts")
    candidate = os.path.join(scripts, name) if scripts else ""
    if candidate and os.path.isfile(candidate):
        return candidate
    found = shutil.which(name)
    if found:
        return found
    raise StandinError("the standin binary is neither in %s nor on PATH" % scripts)


PathLike = Union[str, "os.PathLike[str]"]


class Server:
    """``standin serve`` on 127.0.0.1 and a free port.

    ``Server(["api.yaml"], args=["--seed", "7"]).start()`` returns once ``/__standin/health``
    answers 200; ``url`` is then the base URL. ``stop()`` sends SIGTERM and waits, so the
    contract summary is printed and ``--report``/``--record`` files are complete.
    """

    def __init__(self, specs: Iterable[PathLike], args: Sequence[str] = (), fixtures: Optional[PathLike] = None,
                 timeout: float = 30.0, executable: Optional[str] = None):
        self.specs = [os.fspath(s) for s in specs]
        if not self.specs:
            raise ValueError("at least one spec")
        self.args = list(args)
        self.fixtures = os.fspath(fixtures) if fixtures is not None else None
        self.timeout = timeout
        self.executable = executable or binary()
        self.url: Optional[str] = None
        self._process: Optional[subprocess.Popen] = None
        self._lines: List[str] = []
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._reader: Optional[threading.Thread] = None

    def command(self) -> List[str]:
        cmd = [self.executable, "serve", "--host", "127.0.0.1", "--port", "0"]
        for spec in self.specs:
            cmd += ["--spec", spec]
        if self.fixtures is not None:
            cmd += ["--fixtures", self.fixtures]
        return cmd + self.args

    def start(self) -> "Server":
        self._process = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, text=True, bufsize=1)
        # One reader keeps the pipe drained (standin logs every exchange) and spots the address.
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._reader.join(2)  # the last lines of an exited process
                raise StandinError("standin exited with %s:\n%s" % (self._process.returncode, self.output()))
            if self._listening.wait(0.05) and self._healthy():
                return self
        self.stop()
        raise StandinError("standin was not healthy after %s s:\n%s" % (self.timeout, self.output()))

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            with self._lock:
                self._lines.append(line)
            if self.url is None:
                m = _LISTENING.match(line)
                if m:
                    self.url = m.group(1)
                    self._listening.set()

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/__standin/health", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def output(self) -> str:
        """Everything standin printed so far (start lines, request log, contract summary)."""
        with self._lock:
            return "".join(self._lines)

    @property
    def returncode(self) -> Optional[int]:
        return None if self._process is None else self._process.poll()

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """SIGTERM, then wait (SIGKILL after ``timeout`` seconds); returns standin's exit code."""
        p = self._process
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM if sys.platform != "win32" else signal.CTRL_BREAK_EVENT)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self._reader is not None:
            self._reader.join(2)  # the contract summary printed on the way out
        return p.returncode

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
