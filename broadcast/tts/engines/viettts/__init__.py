"""vietTTS (NTT123): duration model + acoustic model + HiFi-GAN on JAX/Haiku, from operator-supplied weights.

Only :class:`VietTtsEngine` is public; JAX is imported when the engine first speaks, not here.
"""

from __future__ import annotations

from broadcast.tts.engines.viettts.engine import VietTtsEngine

__all__ = ["VietTtsEngine"]
