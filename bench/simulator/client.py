"""The paho client the simulator uses: paho's, minus two things that serialise thousands of connects.

1. An explicit bind() before each connect (see `_create_socket_connection`).
2. A blocking TLS handshake: paho wraps the socket and runs `do_handshake()` inside `connect()`, so a
   worker hosting 2,500 agents would handshake them one after the other, each waiting a round trip to the
   broker, where 2,500 Pis handshake at once. Here the handshake is advanced by the worker's selector,
   one step per readable/writable event, like every other byte of the session. The certificate checks
   are the agent's own (`edge_agent.transport.tls_context`: the pinned CA, the host name), done by
   OpenSSL during the handshake.
"""

from __future__ import annotations

import socket
import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion


class SimClient(mqtt.Client):
    """A paho MQTT v5 client whose TCP connect and TLS handshake never block the worker's loop."""

    _handshaking = False
    _wants_write = False
    tls_error: str | None = None  # why the last handshake failed (a wrong CA, a wrong host name...)

    def _create_socket_connection(self) -> socket.socket:
        # paho binds to ("", 0) first. With thousands of sockets (and TIME_WAITs) in one host, bind()'s
        # port search took ~3 ms per connect here, serialised in the worker; connect() hashes ports fast.
        # A real agent opens one connection, so this changes only the simulator's cost.
        return socket.create_connection((self._host, self._port), timeout=self._connect_timeout)

    def _ssl_wrap_socket(self, tcp_sock: socket.socket) -> ssl.SSLSocket:
        assert self._ssl_context is not None  # only called when TLS is set
        wrapped = self._ssl_context.wrap_socket(
            tcp_sock, server_hostname=self._host, do_handshake_on_connect=False
        )
        self._handshaking, self._wants_write, self.tls_error = True, True, None
        return wrapped

    def _advance_handshake(self) -> bool:
        """Take the handshake as far as the socket allows; True once it is done."""
        sock = self._sock
        if not isinstance(sock, ssl.SSLSocket):
            return True
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            self._wants_write = False
            return False
        except ssl.SSLWantWriteError:
            self._wants_write = True
            return False
        except (ssl.SSLError, OSError) as exc:
            self._handshaking = False
            self.tls_error = f"{type(exc).__name__}: {exc}"
            self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)  # closes; on_disconnect follows
            return False
        self._handshaking = False
        # CONNECT has waited in the queue for this; paho still thinks the loop knows (it was told when
        # CONNECT was queued, and the write then stopped at the handshake), so tell it again.
        self._registered_write = False
        self._call_socket_register_write()
        return True

    def want_write(self) -> bool:
        if self._handshaking:
            return self._wants_write
        return super().want_write()

    def loop_write(self) -> MQTTErrorCode:
        if self._handshaking and not self._advance_handshake():
            return MQTTErrorCode.MQTT_ERR_AGAIN
        return super().loop_write()

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        if self._handshaking and not self._advance_handshake():
            return MQTTErrorCode.MQTT_ERR_AGAIN
        return super().loop_read(max_packets)


def new_client(device_id: str, password: str, tls: ssl.SSLContext | None = None) -> SimClient:
    """Return an MQTT v5 client logging in as device_id (= client id, as the broker enforces)."""
    client = SimClient(CallbackAPIVersion.VERSION2, client_id=device_id, protocol=MQTTProtocolVersion.MQTTv5)
    client.username_pw_set(device_id, password)
    if tls is not None:
        client.tls_set_context(tls)
    return client
