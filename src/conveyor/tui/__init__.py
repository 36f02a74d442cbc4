"""``conveyor top``: the terminal dashboard (Textual), over the public API only.

Modules: :mod:`.source` (the async SDK client and the team it works in),
:mod:`.overview` (from ``GET /api/v1/stats``), :mod:`.jobs`, :mod:`.agents` (the
three panes), :mod:`.logview` (a job's live log), :mod:`.dialogs` (confirm, filter, team, help),
:mod:`.cells` (how values look in the tables) and :mod:`.app` (keys and refresh).
It needs the ``tui`` extra; the CLI checks for it before importing anything here.
"""
