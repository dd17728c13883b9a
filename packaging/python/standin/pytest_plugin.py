"""The pytest fixture ``standin`` (registered through the ``pytest11`` entry point).

``standin(spec, *args, fixtures=None)`` starts a server for the test and returns it
(:class:`standin.Server`: ``.url``, ``.output()``, ``.stop()``); every server it started is
stopped when the test ends.
"""

from __future__ import annotations

import os

import pytest

from . import Server


@pytest.fixture
def standin():
    servers = []

    def start(*specs_then_flags, args=(), fixtures=None, timeout=30.0):
        # Flags may follow the specs directly: standin("api.yaml", "--seed", "7").
        items = [os.fspath(s) for s in specs_then_flags]
        first_flag = next((i for i, s in enumerate(items) if s.startswith("-")), len(items))
        server = Server(items[:first_flag], args=items[first_flag:] + list(args), fixtures=fixtures, timeout=timeout)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
