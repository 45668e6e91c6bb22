"""The agent's offline bundle: everything a Pi needs to install the agent with no network.

`manifest` is the pure logic (requirements, targets, which .debs ship, bundle.json); `wheels` (pip, the
wheel writer) and `debs` (apt-get with a private configuration) are the adapters; `builder` lays out and
packs the bundle. The command is `broadcast agent-bundle` (broadcast/cli/agent_bundle.py).
"""

from __future__ import annotations

from broadcast.agent_bundle.builder import Bundle, BundleRequest, build
from broadcast.agent_bundle.manifest import BundleError

__all__ = ["Bundle", "BundleError", "BundleRequest", "build"]
