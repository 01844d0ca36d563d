"""Fixtures for the hostile-document tests: canaries that notice any file, pipe or network access."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import bootstrap
from engine.workflow.models import AuditEvent, ProcessDefinition
from tests.engine.conftest import _gap
from tests.engine.hostile.documents import SECRET, Canary


class CanaryWatch:
    """Watches a named pipe, a listening socket and a directory; reports every touch."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.secret_file = directory / "secret.txt"
        self.secret_file.write_text(SECRET)
        self.fifo = directory / "pipe"
        os.mkfifo(self.fifo)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.setblocking(False)
        self.canary = Canary(directory, self.secret_file, self.fifo, self.listener.getsockname()[1])
        self.pipe_opened = 0
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch_pipe, name="canary-pipe", daemon=True)
        self._thread.start()
        self._files = self._listing()

    def _watch_pipe(self) -> None:
        # Opening a FIFO for writing without blocking succeeds only while somebody has it open for
        # reading: then we count the reader, hand it a line (so it never hangs) and close.
        while not self._stop.wait(0.005):
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                continue
            self.pipe_opened += 1
            try:
                os.write(fd, SECRET.encode())
            finally:
                os.close(fd)

    def _listing(self) -> set[str]:
        return {p.name for p in self.canary.directory.iterdir()}

    def touched(self) -> list[str]:
        """What was touched since the watch began (empty when nothing was)."""
        while True:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                break
            self.connections += 1
            conn.close()
        found = []
        if self.pipe_opened:
            found.append(f"the named pipe was opened {self.pipe_opened} time(s)")
        if self.connections:
            found.append(f"{self.connections} connection(s) to the canary port")
        new = self._listing() - self._files
        if new:
            found.append(f"files appeared: {sorted(new)}")
        if self.secret_file.read_text() != SECRET:
            found.append("the secret file changed")
        return found

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.listener.close()


@pytest.fixture(scope="module")
def canary_watch(tmp_path_factory):
    watch = CanaryWatch(tmp_path_factory.mktemp("canary"))
    yield watch
    watch.close()


@pytest.fixture(scope="module")
def canary(canary_watch) -> Canary:
    return canary_watch.canary


@pytest.fixture(scope="module")
def hostile_services(tmp_path_factory, sqlite_template):
    """One engine on a SQLite copy for the whole module (validation does not depend on the database).

    No programme plugins are loaded: the only operations are ``test.gap`` and the engine's own.
    """
    path = tmp_path_factory.mktemp("hostile-db") / "jishijiu.db"
    path.write_bytes(sqlite_template.read_bytes())
    svc = bootstrap.build({"DATABASE_URL": f"sqlite:///{path}", "TESTING": True, "PLUGINS": []})
    svc.services.register("test.gap", _gap)
    yield svc
    svc.close()


def stored_rows(services) -> tuple[int, int]:
    """(process definitions, audit events) in the database."""
    with services.db.read() as session:
        return (session.execute(select(func.count()).select_from(ProcessDefinition)).scalar(),
                session.execute(select(func.count()).select_from(AuditEvent)).scalar())
