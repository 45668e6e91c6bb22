"""The daily programme: slots and their checks, skips, the last call before a slot, publishing ahead.

The names below are the package's face for `from broadcast import programme` callers; the rest is private.
"""

from broadcast.programme.workflow import (
    ItemRequest,
    ProgrammeRules,
    SlotRequest,
    check_slot,
    create_slot,
    delete_slot,
    list_slots,
    replace_items,
    restore_slots,
    slot_items,
)

__all__ = [
    "ItemRequest",
    "ProgrammeRules",
    "SlotRequest",
    "check_slot",
    "create_slot",
    "delete_slot",
    "list_slots",
    "replace_items",
    "restore_slots",
    "slot_items",
]
