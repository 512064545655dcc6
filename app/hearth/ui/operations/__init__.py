"""The window's controllers: the indexing queue, the answer lifecycle and model switching.

Each is a QObject that runs its work as BackgroundTasks and reports through signals, with
its state in typed enums; none holds a widget, so each is tested without a window.
"""
