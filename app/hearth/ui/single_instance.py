"""A second launch of the desktop app brings the first one's window to the front.

The first window listens on a local socket named after its data folder (QLocalServer);
a second launch on the same folder, refused by the instance lock, asks it to show itself
and exits. When no window answers (the folder is held by a CLI command such as
``hearth index``), the second launch explains in a dialog, not only on a terminal that a
desktop user never sees.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

log = logging.getLogger(__name__)

RAISE_REQUEST = b"raise\n"
RAISED_REPLY = b"raised\n"
ANSWER_TIMEOUT_MS = 2000


def server_name(data_folder: Path) -> str:
    digest = hashlib.sha256(str(data_folder.resolve()).encode()).hexdigest()[:16]
    return f"hearth-{digest}"


class RaiseServer(QLocalServer):
    """Owned by the first window: answers a second launch by showing that window."""

    def __init__(self, window: QMainWindow, data_folder: Path) -> None:
        super().__init__(window)
        self.window = window
        name = server_name(data_folder)
        # We hold the instance lock, so a socket file left by a crashed Hearth is stale.
        QLocalServer.removeServer(name)
        if not self.listen(name):
            log.warning("second launches cannot reach this window: %s", self.errorString())
        self.newConnection.connect(self._answer)

    def _answer(self) -> None:
        while self.hasPendingConnections():
            connection = self.nextPendingConnection()
            connection.readyRead.connect(lambda c=connection: self._read(c))

    def _read(self, connection: QLocalSocket) -> None:
        if bytes(connection.readAll().data()).startswith(RAISE_REQUEST.strip()):
            log.info("a second launch asked for this window")
            self.window.showNormal()
            self.window.raise_()
            self.window.activateWindow()
            connection.write(RAISED_REPLY)
            connection.flush()
            connection.disconnectFromServer()


def raise_running_window(data_folder: Path) -> bool:
    """Ask the window that holds ``data_folder`` to come to the front; True if it did."""
    socket = QLocalSocket()
    socket.connectToServer(server_name(data_folder))
    if not socket.waitForConnected(ANSWER_TIMEOUT_MS):
        return False
    socket.write(RAISE_REQUEST)
    socket.flush()
    answered = b""
    while socket.waitForReadyRead(ANSWER_TIMEOUT_MS):
        answered += bytes(socket.readAll().data())
        if answered.endswith(b"\n"):
            break
    socket.disconnectFromServer()
    return answered == RAISED_REPLY


def explain_refusal(reason: str, parent: QWidget | None = None) -> None:
    QMessageBox.warning(parent, "Hearth is busy", f"Hearth cannot open: {reason}.")
