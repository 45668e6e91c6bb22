"""Live broadcasts: an officer's voice from the browser to the loudspeakers of chosen zones, now.

`LiveService` runs the sessions (start, stop, renewals, drop detection); `records` keeps them (who, when,
zones, joined loudspeakers, the recording); `commands` signs what agents are told; `on_air` moves the
audio into the engine. The engine itself (Snapcast) is an adapter: broadcast/snapcast.
"""

from broadcast.live.commands import StreamAddress
from broadcast.live.records import LiveRefused, LiveView, live_sha256
from broadcast.live.service import Engine, LiveDeps, LiveService

__all__ = ["Engine", "LiveDeps", "LiveRefused", "LiveService", "LiveView", "StreamAddress", "live_sha256"]
