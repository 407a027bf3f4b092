"""Did-you-mean suggestions for unresolved names (LANGUAGE.md §8.3)."""

from __future__ import annotations

from typing import Iterable


def levenshtein(a: str, b: str, limit: int | None = None) -> int:
    """Edit distance; stops early (returning limit + 1) once it must exceed `limit`."""
    if a == b:
        return 0
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        if limit is not None and min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def distance_limit(name: str) -> int:
    """≤ 1 for names of up to 4 characters, ≤ 2 up to 8, ≤ 3 beyond."""
    if len(name) <= 4:
        return 1
    if len(name) <= 8:
        return 2
    return 3


def suggest(name: str, candidates: Iterable[str], max_count: int = 3) -> list[str]:
    """Candidates equal ignoring case win outright; otherwise those within the distance limit,
    ordered by distance then alphabetically."""
    pool = sorted({c for c in candidates if c != name})
    folded = [c for c in pool if c.lower() == name.lower()]
    if folded:
        return folded[:max_count]
    limit = distance_limit(name)
    scored = [(levenshtein(name, c, limit), c) for c in pool]
    scored = [(d, c) for d, c in scored if d <= limit]
    scored.sort()
    return [c for _, c in scored[:max_count]]


def did_you_mean(names: list[str]) -> str:
    """`. Did you mean 'a'?`, `. Did you mean 'a' or 'b'?`, `. Did you mean 'a', 'b' or 'c'?`."""
    if not names:
        return ""
    quoted = [f"'{n}'" for n in names]
    text = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f". Did you mean {text}?"


def closest_word(word: str, valid: Iterable[str], max_distance: int = 2) -> str | None:
    """The closest valid option word within `max_distance` (ties: the first in `valid`)."""
    best: tuple[int, str] | None = None
    for candidate in valid:
        d = levenshtein(word, candidate, max_distance)
        if d <= max_distance and (best is None or d < best[0]):
            best = (d, candidate)
    return None if best is None else best[1]
