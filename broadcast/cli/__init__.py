"""The `broadcast` command: the station's commands (serve, users, tokens, devices, keys, voices, communes).

`commands.py` builds the parser and runs the station-wide commands; one module per command family beside it;
`database.py` opens the migrated database every command works on; `quickstart.py` is the first-run set-up.
"""

from __future__ import annotations

from broadcast.cli.commands import main

__all__ = ["main"]
