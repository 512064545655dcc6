"""HearthError: the root of every error a user can be shown.

str() of each is one plain line naming the file, model or setting and the reason; the CLI
prints it after "hearth: error:" and the window shows it in its message, both without a
traceback (the log keeps the detail). Cancelling is not an error (hearth.jobs.Cancelled).
"""

from __future__ import annotations


class HearthError(Exception):
    """Something the user can fix or understand; str() is one line for them."""


class InputError(HearthError):
    """What the user typed names nothing or cannot be read (an unknown repository, a
    malformed address); the CLI exits 2 for it, as argparse does for a usage error."""


class DocumentNotIndexed(HearthError):
    """A request names a document the index does not hold, or one with no text."""
