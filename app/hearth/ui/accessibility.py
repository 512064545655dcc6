"""What the window tells assistive technology beyond names and roles: announcements.

A screen reader speaks the focused control; what changes elsewhere (an answer's stage, an
answer finished while the user reads the documents pane) it speaks only when told, through
an announcement event (Qt 6.8: AT-SPI's Announcement, UIA's notification).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import QObject


def announce(source: QObject, message: str, assertive: bool = False) -> None:
    """Have a screen reader say ``message`` (``source``: the control it is about). Polite
    waits for what is being said to end; assertive interrupts it."""
    from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent

    if not message or not QAccessible.isActive():
        return
    event = QAccessibleAnnouncementEvent(source, message)
    if assertive:
        event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive)
    QAccessible.updateAccessibility(event)
