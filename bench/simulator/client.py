"""The paho client the simulator uses: paho's, minus an explicit bind() before each connect."""

from __future__ import annotations

import socket

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion


class SimClient(mqtt.Client):
    """A paho MQTT v5 client whose TCP connect lets the kernel pick the local port at connect()."""

    def _create_socket_connection(self) -> socket.socket:
        # paho binds to ("", 0) first. With thousands of sockets (and TIME_WAITs) in one host, bind()'s
        # port search took ~3 ms per connect here, serialised in the worker; connect() hashes ports fast.
        # A real agent opens one connection, so this changes only the simulator's cost.
        return socket.create_connection((self._host, self._port), timeout=self._connect_timeout)


def new_client(device_id: str, password: str) -> SimClient:
    """Return an MQTT v5 client logging in as device_id (= client id, as the broker enforces)."""
    client = SimClient(CallbackAPIVersion.VERSION2, client_id=device_id, protocol=MQTTProtocolVersion.MQTTv5)
    client.username_pw_set(device_id, password)
    return client
