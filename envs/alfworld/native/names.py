"""Display names of a game's entities, as ALFWorld's ``AlfredDemangler(shuffle=False)`` gives them.

An ALFWorld object id such as ``alarmclock_bar__minus_00_dot_82_bar__plus_00_dot_86_bar__minus_01_dot_36``
becomes ``alarmclock 1``: the part before the first ``_bar_`` (plus ``basin`` for sink and bathtub basins)
and a number per name. Numbers are handed out over the ids in sorted order, each name's numbers from the
highest down, so the first id in sorted order gets the highest number. An id without ``_bar_`` keeps its
text, demangled (``_minus_`` -> ``-`` ...), with an empty number: ``"agent1 "``, trailing space included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

_REPLACEMENTS = (("_bar_", "|"), ("_minus_", "-"), ("_plus_", "+"), ("_dot_", "."), ("_comma_", ","))


def _base_name(entity_id: str) -> str | None:
    parts = entity_id.split("_bar_", 1)
    if len(parts) == 1:
        return None
    return parts[0] + ("basin" if "basin" in entity_id else "")


def display_names(entity_ids: Iterable[str]) -> dict[str, str]:
    """Return ``{id: display name}`` for every entity id of a game (the ids TextWorld's facts mention)."""
    ids = sorted(set(entity_ids))
    counts = Counter(name for entity_id in ids if (name := _base_name(entity_id)) is not None)
    next_number = dict(counts)
    names = {}
    for entity_id in ids:
        base = _base_name(entity_id)
        if base is None:
            text = entity_id
            for old, new in _REPLACEMENTS:
                text = text.replace(old, new)
            names[entity_id] = f"{text} "
        else:
            names[entity_id] = f"{base} {next_number[base]}"
            next_number[base] -= 1
    return names
