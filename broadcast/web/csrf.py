"""CSRF tokens bound to the web session (HMAC of the session id with the station's secret)."""

from __future__ import annotations

import hashlib
import hmac


def token_for(secret: bytes, session_id: str) -> str:
    return hmac.new(secret, session_id.encode(), hashlib.sha256).hexdigest()


def is_valid(secret: bytes, session_id: str, token: str) -> bool:
    return bool(session_id) and hmac.compare_digest(token_for(secret, session_id), token)
