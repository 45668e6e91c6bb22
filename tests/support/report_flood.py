"""A stolen device's report flood: QoS0 play reports with made-up command ids, from its own agent.toml."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from broadcast import protocol
from edge_agent.config import load_config
from edge_agent.transport import tls_context


class ReportFlood:
    """Publish `count` reports on the device's own event topic, in a thread (`run()` to do it inline)."""

    def __init__(self, config: Path, count: int) -> None:
        self.config = load_config(config)
        self.count = count
        self.sent = 0
        self.elapsed_s = 0.0  # publishing time, without the pause that lets the last ones leave
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        config = self.config
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=config.device_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        client.username_pw_set(config.mqtt_username, config.mqtt_password)
        if config.mqtt_tls:
            client.tls_set_context(tls_context(config))
        client.connect(config.mqtt_host, config.mqtt_port)
        client.loop_start()
        topic = protocol.device_event_topic(config.device_id)
        started = time.perf_counter()
        try:
            for n in range(self.count):
                if self.stop.is_set():
                    break
                report = protocol.PlayReport(
                    config.device_id, str(uuid.uuid4()), "a" * 64, time.time(), 1.0, "normal"
                )
                client.publish(topic, protocol.encode_agent_message(report), qos=0)
                self.sent += 1
                if n % 1000 == 999:
                    time.sleep(0.005)  # let paho's network thread write out what is queued
            self.elapsed_s = time.perf_counter() - started
            time.sleep(1.0)
        finally:
            client.loop_stop()
            client.disconnect()
