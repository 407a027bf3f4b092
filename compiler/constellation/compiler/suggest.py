"""Did-you-mean suggestions for unresolved names (LANGUAGE.md §8.3)."""

from __future__ import annotations

from typing import Iterable


def levenshtein(a: str, b: str, limit: int | None = None) -> int:
    """Edit distance; beyond `limit` the answer is limit + 1.

    Bit-parallel (Myers 1999, in Hyyrö's formulation for edit distance): one column of the
    dynamic programme per character of `b`, held in the bits of two integers, so a pair of
    names costs a few integer operations per character instead of a Python loop per cell
    (suggestions compare a name against every binding of the file).
    """
    if a == b:
        return 0
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    if not a or not b:
        distance = len(a) or len(b)
        return distance if limit is None else min(distance, limit + 1)
    peq: dict[str, int] = {}
    for i, ch in enumerate(a):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    mask = (1 << len(a)) - 1
    top = 1 << (len(a) - 1)
    pv, mv, score = mask, 0, len(a)
    for ch in b:
        eq = peq.get(ch, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & mask
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = (mh | ~(xv | ph)) & mask
        mv = ph & xv
    return score if limit is None else min(score, limit + 1)


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
