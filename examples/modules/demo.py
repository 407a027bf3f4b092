"""The `examples` module pack of LANGUAGE.md §7.6, plus the profile services of DESIGN.md.

Every function is root-level (no namespace). Slow functions really sleep (asynchronously), for
their documented time multiplied by the environment variable CONSTELLATION_TIME_SCALE (default
1.0, read at each call so tests can shrink it). Counters are per process; `reset_counters()`
puts them back to zero.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import anyio

from constellation.compiler.registry import ModuleFailure
from constellation.runtime import module

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_counters = {"FlakyService": 0, "TimeoutProneService": 0}


def reset_counters() -> None:
    """Start the stateful services afresh (FlakyService, TimeoutProneService)."""
    for key in _counters:
        _counters[key] = 0


def time_scale() -> float:
    raw = os.environ.get("CONSTELLATION_TIME_SCALE", "1.0")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return 1.0


async def _sleep_ms(ms: float) -> None:
    await anyio.sleep(ms / 1000 * time_scale())


def _int64(value: int, function: str) -> int:
    if not _INT_MIN <= value <= _INT_MAX:
        raise ModuleFailure(f"Integer overflow in '{function}'")
    return value


def _drop_trailing_empty(pieces: list[str]) -> list[str]:
    while pieces and pieces[-1] == "":
        pieces.pop()
    return pieces


_CONTROL_AND_SPACE = "".join(chr(c) for c in range(0x21))

# --- text ------------------------------------------------------------------------------------


@module
def Uppercase(text: str) -> str:
    """Upper-cases the text."""
    return text.upper()


@module
def Lowercase(text: str) -> str:
    """Lower-cases the text."""
    return text.lower()


@module
def Trim(text: str) -> str:
    """Removes leading and trailing whitespace and control characters (<= U+0020)."""
    return text.strip(_CONTROL_AND_SPACE)


@module
def Replace(text: str, find: str, replace: str) -> str:
    """Replaces every literal occurrence of `find` by `replace`."""
    return text.replace(find, replace)


@module
def WordCount(text: str) -> int:
    """Number of words: non-empty pieces after splitting on runs of whitespace."""
    return len(text.split())


@module
def TextLength(text: str) -> int:
    """Number of characters (code points)."""
    return len(text)


@module
def Contains(text: str, substring: str) -> bool:
    """Whether `text` contains `substring` (case-sensitive)."""
    return substring in text


@module
def SplitLines(text: str) -> list[str]:
    """Splits on line breaks (\\n), dropping trailing empty lines."""
    return _drop_trailing_empty(text.split("\n"))


@module
def Split(text: str, delimiter: str) -> list[str]:
    """Splits on the regular expression `delimiter`, dropping trailing empty pieces."""
    try:
        pattern = re.compile(delimiter)
    except re.error as exc:
        raise ModuleFailure(f"Invalid regular expression '{delimiter}': {exc}") from None
    # By hand rather than re.split: groups in the pattern must not add pieces, and an empty
    # match at the very start must not add a leading empty piece.
    pieces, last = [], 0
    for match in pattern.finditer(text):
        if match.end() == 0:
            continue
        pieces.append(text[last:match.start()])
        last = match.end()
    pieces.append(text[last:])
    return _drop_trailing_empty(pieces)


# --- numbers ---------------------------------------------------------------------------------


@module
def SumList(numbers: list[int]) -> int:
    """Sum of the numbers, 0 for an empty list."""
    return _int64(sum(numbers), "SumList")


@module
def Average(numbers: list[int]) -> float:
    """Arithmetic mean, 0.0 for an empty list."""
    return sum(numbers) / len(numbers) if numbers else 0.0


@module
def Max(numbers: list[int]) -> int:
    """Largest number, 0 for an empty list."""
    return max(numbers, default=0)


@module
def Min(numbers: list[int]) -> int:
    """Smallest number, 0 for an empty list."""
    return min(numbers, default=0)


@module
def FilterGreaterThan(numbers: list[int], threshold: int) -> list[int]:
    """The numbers greater than `threshold`, in order."""
    return [n for n in numbers if n > threshold]


@module
def MultiplyEach(numbers: list[int], multiplier: int) -> list[int]:
    """Each number multiplied by `multiplier`."""
    return [_int64(n * multiplier, "MultiplyEach") for n in numbers]


@module
def Range(start: int, end: int) -> list[int]:
    """start, start+1, ..., end (inclusive); empty when start > end."""
    return list(range(start, end + 1))


@module
def FormatNumber(number: int) -> str:
    """Decimal text with a comma every three digits: 1234567 -> "1,234,567"."""
    return f"{number:,}"


# --- simulated services ----------------------------------------------------------------------


@module
async def SlowQuery(query: str) -> str:
    """A slow database query (500 ms)."""
    await _sleep_ms(500)
    return f"Result for: {query}"


@module
async def SlowApiCall(endpoint: str) -> str:
    """A slow remote API call (1 s)."""
    await _sleep_ms(1000)
    return f"API response from: {endpoint}"


@module
async def ExpensiveCompute(data: str) -> str:
    """An expensive computation (2 s)."""
    await _sleep_ms(2000)
    return f"Computed: {data.upper()}"


@module
def FlakyService(request: str) -> str:
    """Fails twice, then succeeds, and so on (a process-wide counter)."""
    _counters["FlakyService"] += 1
    attempt = _counters["FlakyService"]
    if attempt % 3 != 0:
        raise ModuleFailure(f"Service temporarily unavailable (attempt {attempt})")
    return f"Success for: {request}"


@module
async def TimeoutProneService(request: str) -> str:
    """Slow on its first call in a process (3 s), quick afterwards (100 ms)."""
    _counters["TimeoutProneService"] += 1
    await _sleep_ms(3000 if _counters["TimeoutProneService"] == 1 else 100)
    return f"Response for: {request}"


@module
async def RateLimitedApi(request: str) -> str:
    """A rate-limited API (50 ms per call)."""
    await _sleep_ms(50)
    return f"Rate-limited response for: {request}"


@module
async def ResourceIntensiveTask(task: str) -> str:
    """A resource-hungry task (200 ms)."""
    await _sleep_ms(200)
    return f"Completed: {task}"


@module
async def QuickCheck(data: str) -> str:
    """A quick triage (10 ms): "needs-deep-analysis" when the data mentions "complex"."""
    await _sleep_ms(10)
    return "needs-deep-analysis" if "complex" in data.lower() else "valid"


@module
async def DeepAnalysis(data: str) -> str:
    """A thorough analysis (1.5 s)."""
    await _sleep_ms(1500)
    return f"Deep analysis of: {data}"


@module
def AlwaysFailsService(request: str) -> str:
    """Always fails."""
    raise ModuleFailure(f"Service failed for: {request}")


# --- the profile example of DESIGN.md --------------------------------------------------------


@dataclass
class User:
    id: str
    name: str
    email: str


@dataclass
class Order:
    id: str
    item: str
    amount: float


@dataclass
class Preferences:
    theme: str
    language: str
    newsletter: bool


@dataclass
class Profile:
    userId: str
    name: str
    email: str
    orderCount: int
    totalSpent: float
    theme: str
    summary: str


_ITEMS = ("keyboard", "monitor", "desk lamp", "headphones", "notebook")


def _seed(user_id: str) -> int:
    return sum(ord(c) for c in user_id)


@module
async def GetUser(userId: str) -> User:
    """Fetches a user account from the user service (100 ms)."""
    await _sleep_ms(100)
    handle = re.sub(r"[^a-z0-9]+", ".", userId.lower()).strip(".") or "user"
    return User(id=userId, name=f"User {userId}", email=f"{handle}@example.com")


@module
async def GetOrders(userId: str) -> list[Order]:
    """Fetches the user's recent orders from the order service (150 ms)."""
    await _sleep_ms(150)
    seed = _seed(userId)
    return [Order(id=f"{userId}-o{i + 1}", item=_ITEMS[(seed + i) % len(_ITEMS)],
                  amount=round(9.5 + (seed * (i + 3)) % 90, 2))
            for i in range(seed % 3 + 2)]


@module
async def GetPreferences(userId: str) -> Preferences:
    """Fetches the user's settings from the preference service (80 ms)."""
    await _sleep_ms(80)
    seed = _seed(userId)
    return Preferences(theme=("dark", "light")[seed % 2], language=("en", "fr", "de")[seed % 3],
                       newsletter=seed % 2 == 0)


@module
async def BuildProfile(user: User, orders: list[Order], preferences: Preferences) -> Profile:
    """Combines a user, their orders and their preferences into a profile (20 ms)."""
    await _sleep_ms(20)
    total = round(sum(o.amount for o in orders), 2)
    return Profile(userId=user.id, name=user.name, email=user.email, orderCount=len(orders),
                   totalSpent=total, theme=preferences.theme,
                   summary=f"{user.name}: {len(orders)} orders, {total:.2f} spent")
