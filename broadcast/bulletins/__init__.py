"""Bulletins: drafts, approval, edits and history, imports, uploaded recordings, the commune's dictionary.

The names below are the package's face for `from broadcast import bulletins` callers; the rest is private.
"""

from broadcast.bulletins.workflow import (
    BulletinDraft,
    approve_bulletin,
    claim,
    count_bulletins,
    create_bulletin,
    get_bulletin,
    list_bulletins,
    list_with_durations,
    rerender_bulletin,
    unknown_terms,
    validate_draft,
    version_of,
)

__all__ = [
    "BulletinDraft",
    "approve_bulletin",
    "claim",
    "count_bulletins",
    "create_bulletin",
    "get_bulletin",
    "list_bulletins",
    "list_with_durations",
    "rerender_bulletin",
    "unknown_terms",
    "validate_draft",
    "version_of",
]
