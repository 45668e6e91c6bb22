"""`python -m broadcast.cli`: the same as the `broadcast` command."""

from __future__ import annotations

import sys

from broadcast.cli.commands import main

sys.exit(main())
