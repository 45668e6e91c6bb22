"""A 4G-like link in user space: an asyncio TCP proxy with delay, jitter, stalls, a rate cap, blackholes.

Each accepted connection is one Pi's link to the engine. Both directions get a one-way delay of
delay_s ± jitter_s (uniform, TCP order kept: a segment never overtakes the one before), the link stalls
now and then (stall_s seconds, every stall_every_s ± 20 %, both directions at once, like a cell
handover), and each direction is held to rate_bps by a token bucket. `blackhole(seconds)` holds every
link's traffic for that long: a route blackhole under TCP looks the same to the application (nothing
arrives, then the retransmitted backlog arrives at once). Reads stop while a direction holds more than
QUEUE_BYTES, so the sender feels back-pressure as it would from full socket buffers.

Runs in its own thread with its own event loop (`ImpairedLink`), so the bench's blocking code can use it.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass

QUEUE_BYTES = 256 * 1024
BUCKET_BYTES = 16 * 1024


@dataclass(frozen=True)
class Impairment:
    """How bad the link is; the defaults are the 4G profile of the bench."""

    delay_s: float = 0.080
    jitter_s: float = 0.030
    stall_every_s: float = 10.0
    stall_s: tuple[float, float] = (0.3, 0.8)
    rate_bps: float = 2_000_000.0


class _Link:
    """The shared state of one connection: when it stalls next."""

    def __init__(self, imp: Impairment, rng: random.Random) -> None:
        self.imp, self.rng = imp, rng
        self.next_stall = time.monotonic() + rng.uniform(0.2, 1.0) * imp.stall_every_s
        self.stall_end = 0.0
        self.stalls: list[float] = []

    def held_until(self, now: float) -> float:
        """Return the time the link is usable again (now if it is not stalled)."""
        if now >= self.next_stall:
            length = self.rng.uniform(*self.imp.stall_s)
            self.stall_end = self.next_stall + length
            self.stalls.append(length)
            self.next_stall += self.imp.stall_every_s * self.rng.uniform(0.8, 1.2) + length
        return self.stall_end if now < self.stall_end else now


class ImpairedLink:
    """A proxy from 127.0.0.1:listen_port to 127.0.0.1:target_port with an Impairment on every connection."""

    def __init__(self, target_port: int, imp: Impairment, seed: int = 1) -> None:
        self.target_port, self.imp = target_port, imp
        self._rng = random.Random(seed)
        self._blackout_until = 0.0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0
        self.links: list[_Link] = []

    def __enter__(self) -> ImpairedLink:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _shutdown(self) -> None:
        mine = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not mine]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def blackhole(self, seconds: float) -> None:
        """Hold every connection's traffic, both ways, for seconds from now."""
        self._blackout_until = time.monotonic() + seconds

    def stall_count(self) -> int:
        """Return how many stalls all links have had so far."""
        return sum(len(link.stalls) for link in self.links)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _accept(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        try:
            u_reader, u_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            c_writer.close()
            return
        link = _Link(self.imp, random.Random(self._rng.random()))
        self.links.append(link)
        try:
            up, down = self._pipe(c_reader, u_writer, link), self._pipe(u_reader, c_writer, link)
            await asyncio.gather(up, down, return_exceptions=True)
        except asyncio.CancelledError:
            pass  # the proxy is closing: end quietly, asyncio would log a cancelled connection handler
        finally:
            for w in (c_writer, u_writer):
                w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        room = asyncio.Event()
        room.set()
        held = [0]

        async def receive() -> None:
            last_due = 0.0
            while True:
                await room.wait()
                data = await reader.read(4096)
                if not data:
                    await queue.put((0.0, b""))
                    return
                imp = self.imp
                due = max(
                    last_due, time.monotonic() + imp.delay_s + link.rng.uniform(-imp.jitter_s, imp.jitter_s)
                )
                last_due = due
                held[0] += len(data)
                if held[0] > QUEUE_BYTES:
                    room.clear()
                await queue.put((due, data))

        async def send() -> None:
            tokens, refilled = float(BUCKET_BYTES), time.monotonic()
            while True:
                due, data = await queue.get()
                if not data:
                    writer.write_eof()
                    return
                while True:  # wait for the delay, any stall and any blackhole, in whatever order they end
                    now = time.monotonic()
                    ready = max(due, link.held_until(now), self._blackout_until)
                    if ready <= now:
                        break
                    await asyncio.sleep(ready - now)
                now = time.monotonic()
                tokens = min(BUCKET_BYTES, tokens + (now - refilled) * self.imp.rate_bps / 8)
                refilled = now
                if tokens < len(data):
                    await asyncio.sleep((len(data) - tokens) * 8 / self.imp.rate_bps)
                    tokens = float(len(data))
                    refilled = time.monotonic()
                tokens -= len(data)
                writer.write(data)
                await writer.drain()
                held[0] -= len(data)
                if held[0] <= QUEUE_BYTES:
                    room.set()

        await asyncio.gather(receive(), send())
