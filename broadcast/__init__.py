"""Commune loudspeaker broadcast station."""
