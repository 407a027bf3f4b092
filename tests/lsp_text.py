"""A document's text as an LSP client holds it, written the plain way (a loop over characters,
no regex, no `str.splitlines`), to check the server and the compiler against.

LSP: a line ends at `\\n`, `\\r\\n` or `\\r`, nowhere else; a position's character counts code
units of the negotiated encoding; a character past the line's end is the line's end, a line
past the last is the end of the text. A lone surrogate is one UTF-16 unit (a JavaScript
string's), one code point, and three UTF-8 bytes (its WTF-8 form).
"""

from __future__ import annotations

# every character some library treats as a line break; only the first three are, for LSP
LINE_BREAK_LIKE = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d",
                   "\x1e", "\x85"]
ENCODINGS = ["utf-8", "utf-16", "utf-32"]


def unit_len(ch: str, encoding: str) -> int:
    if encoding == "utf-32":
        return 1
    if encoding == "utf-16":
        return 2 if ord(ch) > 0xFFFF else 1
    return len(ch.encode("utf-8", "surrogatepass"))


def lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line's text, its line break excluded."""
    out, start, i = [], 0, 0
    while i < len(text):
        if text[i] in "\r\n":
            out.append((start, i))
            i += 2 if text[i:i + 2] == "\r\n" else 1
            start = i
        else:
            i += 1
    out.append((start, len(text)))
    return out


def position(text: str, offset: int, encoding: str) -> tuple[int, int]:
    """(line, character) of a code-point offset that is not inside a `\\r\\n`."""
    for number, (start, end) in enumerate(lines(text)):
        if start <= offset <= end:
            return number, sum(unit_len(ch, encoding) for ch in text[start:offset])
    raise ValueError(f"offset {offset} is inside a line break")


def offset(text: str, line: int, character: int, encoding: str) -> int:
    spans = lines(text)
    if line >= len(spans):
        return len(text)
    start, end = spans[line]
    units = 0
    for i in range(start, end):
        if units >= character:
            return i
        units += unit_len(text[i], encoding)
    return end


def apply_edits(text: str, edits: list[tuple[tuple[int, int, int, int], str]], encoding: str) -> str:
    """The text after a TextEdit[] (ranges as (start line, start char, end line, end char),
    all on the original text, as LSP says), as a client applies them."""
    spans = sorted(((offset(text, a, b, encoding), offset(text, c, d, encoding), new)
                    for (a, b, c, d), new in edits), key=lambda e: e[0], reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def join_pairs(text: str) -> str:
    """The text as JSON carries it: a high surrogate followed by a low one is the character
    they encode (a client sending `\\ud83d` then `\\ude00` holds one 😀)."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if "\ud800" <= ch <= "\udbff" and i + 1 < len(text) and "\udc00" <= text[i + 1] <= "\udfff":
            out.append(chr(0x10000 + ((ord(ch) - 0xD800) << 10) + ord(text[i + 1]) - 0xDC00))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)
