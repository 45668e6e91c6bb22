"""One measured run of the live-engine bench: an engine, a paced source, three clients, maybe a bad link.

`stream_run` gives mouth-to-speaker latency per burst (written -> heard at the client's output), the
start skew between clients (spread of one burst's onsets), dropouts, client CPU and peak RSS, and after
a blackhole how long until audio returns and until latency is back to what it was. `fanout_run` puts
hundreds of light listeners on one station and reads the server's CPU and bytes from /proc.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.live_impair import ImpairedLink, Impairment
from bench.live_procs import (
    Client,
    Icecast,
    Snapserver,
    Source,
    _more_files,
    bytes_sent,
    ffmpeg_client_cmd,
    noisy,
    pipe_sink,
    proc_snapshot,
    tcp_sink,
)
from bench.live_signal import match, percentiles, whole
from bench.simulator.report import load_1m

ROOT = Path(__file__).resolve().parents[1]
# A client's first seconds are its start-up: ffmpeg probes and fills; snapclient plays on a rough clock
# offset, then corrects it once by a jump (a silence of up to ~300 ms). Counted apart from steady state.
STARTUP_S = 3.0


def stream_run(
    engine: str,
    *,
    buffer_ms: int = 700,
    seconds: float = 20.0,
    impairment: Impairment | None = None,
    blackhole_at: float | None = None,
    blackhole_s: float = 5.0,
    clients: int = 3,
    codec: str = "flac",
) -> dict[str, Any]:
    """Run engine ("snapcast" or "icecast") with `clients` clients for `seconds`; return the figures."""
    with ExitStack() as stack:
        if engine == "snapcast":
            snap = Snapserver(buffer_ms, codec=codec).start()
            stack.callback(snap.close)
            server: Snapserver | Icecast = snap
            source = Source(snap.feed(tcp_sink(snap.source_ports[0])))
            server_pid = server.proc.pid if server.proc else 0
        else:
            server = Icecast().start()
            stack.callback(server.close)
            encoder = subprocess.Popen(server.source_cmd(), stdin=subprocess.PIPE)
            stack.callback(encoder.kill)
            assert encoder.stdin is not None
            source = Source(pipe_sink(encoder.stdin))
            server_pid = server.proc.pid if server.proc else 0
        source.start()
        stack.callback(source.stop)
        time.sleep(1.0)  # the mount / stream exists before the first listener
        port = server.port
        link = None
        if impairment is not None:
            link = stack.enter_context(ImpairedLink(port, impairment))
            port = link.port
        server0 = proc_snapshot(server_pid)
        players: list[Client] = []
        for i in range(clients):
            if isinstance(server, Snapserver):
                cmd = server.client_cmd(port, f"bench-{i}")
            else:
                cmd = ffmpeg_client_cmd(f"http://127.0.0.1:{port}/live")
            channels = 2 if codec.startswith("opus") else 1
            players.append(Client(cmd, paced=engine == "snapcast", channels=channels))
            stack.callback(players[-1].proc.kill)  # on any way out; a no-op once finish() reaped it
            players[-1].start()
            time.sleep(0.37)  # clients come up at different moments, as Pis do
        began = time.monotonic()
        bh_start = bh_end = None
        if blackhole_at is not None and link is not None:
            time.sleep(max(0.0, blackhole_at - (time.monotonic() - began)))
            link.blackhole(blackhole_s)
            bh_start = time.monotonic()
            bh_end = bh_start + blackhole_s
        time.sleep(max(0.0, seconds - (time.monotonic() - began)))
        server1 = proc_snapshot(server_pid)
        for p in players:
            p.finish()
        written = dict(source.written)
        result = _figures(players, written, bh_start, bh_end)
        result["server_cpu_pct"] = round(100 * (server1["cpu_s"] - server0["cpu_s"]) / max(seconds, 1e-9), 2)
        result["source_late_ms_max"] = round(source.late_ms_max, 1)
        result["loadavg_1m_end"] = load_1m()
        if link is not None:
            result["link_stalls"] = link.stall_count()
        return result


def _figures(
    players: list[Client], written: dict[int, float], bh_start: float | None, bh_end: float | None
) -> dict[str, Any]:
    cut = bh_start if bh_start is not None else float("inf")  # bursts heard before the blackhole
    per_client = [_steady(p, written) for p in players]
    latencies = [lat for heard in per_client for k, lat in heard.items() if written[k] + lat < cut]
    skews = []
    for k in set.intersection(*(set(h) for h in per_client)) if per_client else set():
        if written[k] < cut:
            onsets = [written[k] + h[k] for h in per_client]
            if max(onsets) < cut:
                skews.append(max(onsets) - min(onsets))
    dropouts = [_dropouts(p, bh_start, bh_end) for p in players]
    startup = [[length for t, length in _gaps(p) if t < _steady_from(p) and length >= 0.01] for p in players]
    result: dict[str, Any] = {
        "latency_ms": percentiles(latencies),
        "skew_ms": percentiles(skews),
        "bursts_written": len(written),
        "first_audio_s": [
            round(p.detector.first_audio - p.started, 2) if p.detector.first_audio else None for p in players
        ],
        "dropouts": {
            "count": sum(d[0] for d in dropouts),
            "total_ms": round(sum(d[1] for d in dropouts), 0),
            "per_client_count": [d[0] for d in dropouts],
            "lengths_ms": sorted(round(x) for d in dropouts for x in d[2])[-12:],
        },
        "startup_gaps_ms": [[round(x * 1000) for x in g] for g in startup],
        "output_stalls": {  # no output at all: this machine starved snapclient or the reader, not the link
            "count": sum(len(p.detector.stalls) for p in players),
            "total_ms": round(sum(length for p in players for _, length in p.detector.stalls) * 1000),
        },
        "client": {
            "cpu_pct_of_core": [round(100 * p.cpu_s / p.wall_s, 2) for p in players],
            "rss_peak_kb": [p.rss_peak_kb for p in players],
        },
    }
    if bh_start is not None and bh_end is not None:
        normal = percentiles(latencies)["p95"]
        result["blackhole"] = [
            _recovery(p, h, written, bh_start, bh_end, normal)
            for p, h in zip(players, per_client, strict=True)
        ]
    return result


def _gaps(p: Client) -> list[tuple[float, float]]:
    """Return the client's silences: detected gaps (paced output) or model-player underruns."""
    return p.detector.gaps if p.paced else p.underruns


def _steady_from(p: Client) -> float:
    """Return when a client's start-up ends: STARTUP_S after its first audio."""
    return (p.detector.first_audio or p.started) + STARTUP_S


def _steady(p: Client, written: dict[int, float]) -> dict[int, float]:
    """Return {burst: latency} for the bursts a client heard whole after its start-up."""
    heard = match(whole(p.detector.onsets, _gaps(p) + p.detector.stalls), written)
    return {k: lat for k, lat in heard.items() if written[k] + lat >= _steady_from(p)}


def _dropouts(p: Client, bh_start: float | None, bh_end: float | None) -> tuple[int, float, list[float]]:
    start = _steady_from(p)
    count, total, lengths = 0, 0.0, []
    for t, length in _gaps(p):
        if t < start or length < 0.01:
            continue
        if bh_start is not None and bh_end is not None and bh_start - 2 <= t <= bh_end + 2:
            continue  # the blackhole's own gap is reported under recovery
        count += 1
        total += length * 1000
        lengths.append(length * 1000)
    return count, total, lengths


def _recovery(
    p: Client,
    heard: dict[int, float],
    written: dict[int, float],
    bh_start: float,
    bh_end: float,
    normal_p95: Any,
) -> dict[str, Any]:
    gaps = [(t, length) for t, length in _gaps(p) if bh_start - 2 <= t <= bh_end + 2 and length >= 0.01]
    after = sorted((written[k], lat) for k, lat in heard.items() if written[k] > bh_end)
    back = None
    if normal_p95 is not None:
        back = next((w + lat - bh_end for w, lat in after if lat * 1000 <= normal_p95 + 150), None)
    return {
        "silence_ms": round(sum(length for _, length in gaps) * 1000),
        "audio_back_after_s": round(max(t + length for t, length in gaps) - bh_end, 2) if gaps else None,
        "latency_normal_after_s": round(back, 2) if back is not None else None,
        "latency_after_ms": [round(lat * 1000) for _, lat in after[:3]]
        + ["…"]
        + [round(lat * 1000) for _, lat in after[-2:]]
        if len(after) > 5
        else [round(lat * 1000) for _, lat in after],
    }


def fanout_run(
    engine: str,
    sizes: list[int],
    *,
    ramp_max_s: float,
    window_s: float,
    per_process: int = 500,
    codec: str = "flac",
    noise_dbfs: float | None = None,
) -> dict[str, Any]:
    """Return the server's CPU and bytes/s per listener count, and whether all listeners kept receiving."""
    with ExitStack() as stack:
        if engine == "snapcast":
            snap = Snapserver(700, codec=codec).start()
            stack.callback(snap.close)
            server: Snapserver | Icecast = snap
            sink = snap.feed(tcp_sink(snap.source_ports[0]))
            source = Source(noisy(sink, noise_dbfs) if noise_dbfs is not None else sink)
        else:
            server = Icecast().start()
            stack.callback(server.close)
            encoder = subprocess.Popen(server.source_cmd(), stdin=subprocess.PIPE)
            stack.callback(encoder.kill)
            assert encoder.stdin is not None
            source = Source(pipe_sink(encoder.stdin))
        source.start()
        stack.callback(source.stop)
        time.sleep(1.0)
        assert server.proc is not None
        pid = server.proc.pid
        out: dict[str, Any] = {}
        for size in sizes:  # one server, growing: each size adds to the listeners of the one before
            out[str(size)] = _one_size(engine, server.port, pid, size, ramp_max_s, window_s, per_process)
        return out


def _one_size(
    engine: str, port: int, pid: int, size: int, ramp_max_s: float, window_s: float, per_process: int
) -> dict[str, Any]:
    kind = "snap" if engine == "snapcast" else "http"
    counts = [min(per_process, size - i) for i in range(0, size, per_process)]
    cpu0 = proc_snapshot(pid)["cpu_s"]
    began = time.monotonic()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.live_listeners",
                kind,
                str(port),
                str(n),
                str(ramp_max_s),
                str(window_s),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=_more_files,
        )
        for n in counts
    ]
    for proc in procs:
        assert proc.stdout is not None
        proc.stdout.readline()  # "ready"
    ramp_s = time.monotonic() - began
    ramp_cpu = proc_snapshot(pid)["cpu_s"] - cpu0
    if not procs:
        time.sleep(2.0)
    before, sent0 = proc_snapshot(pid), bytes_sent(port)
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    time.sleep(window_s)
    after, sent1 = proc_snapshot(pid), bytes_sent(port)
    reports = []
    for proc in procs:
        text, _ = proc.communicate(timeout=60)
        reports.append(json.loads(text.strip().splitlines()[-1]))
    keys = ("connected", "dropped_by_server", "receiving_at_end", "messages_total", "bytes_total")
    total = {key: sum(r[key] for r in reports) for key in keys}
    return {
        "listeners": size,
        "ramp_s_until_all_receive": round(ramp_s, 1) if size else None,
        "ramp_server_cpu_s": round(ramp_cpu, 1),
        "server_cpu_pct_of_core": round(100 * (after["cpu_s"] - before["cpu_s"]) / window_s, 1),
        "server_sent_bytes_per_s": round((sent1 - sent0) / window_s),
        "server_rss_peak_kb": after["rss_peak_kb"],
        "per_listener_bytes_per_s": round(total["bytes_total"] / window_s / size) if size else None,
        "per_listener_messages_per_s_min": round(
            min((r["messages_min"] for r in reports), default=0) / window_s, 1
        ),
        **{k: total[k] for k in ("connected", "dropped_by_server", "receiving_at_end")},
    }
