"""The language's vocabulary has one home, `constellation.compiler.vocabulary` (ARCHITECTURE.md).

The Python packages import it; the TextMate grammar is generated from its JSON export
(vscode-extension/scripts/vocabulary.json); the Emacs mode, the Neovim set-up and the lark
grammar are checked against it here. 64-bit integer arithmetic has one home too,
`constellation.compiler.values`.

`python tests/architecture/test_vocabulary.py --write` rewrites vocabulary.json after the
vocabulary changed (then run `node scripts/grammar.mjs` in vscode-extension/).
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tokenize
from pathlib import Path

from constellation.compiler import vocabulary as V

REPO = Path(__file__).resolve().parents[2]
EXPORT = REPO / "vscode-extension" / "scripts" / "vocabulary.json"
TEXTMATE = REPO / "vscode-extension" / "syntaxes" / "constellation.tmLanguage.json"
EMACS = REPO / "editors" / "emacs" / "constellation.el"
NEOVIM = REPO / "editors" / "neovim" / "constellation.lua"
LARK = REPO / "grammar" / "constellation" / "grammar" / "constellation.lark"
PACKAGES = ("grammar", "compiler", "runtime", "server", "cli")
OPTION_KEYS_BUT_LAZY = [k for k in V.OPTION_KEYS if k != "lazy"]


def export_text() -> str:
    return json.dumps(V.as_json(), indent=2, ensure_ascii=False) + "\n"


def alternatives(pattern: str) -> list[str]:
    """The words of the first `(?:a|b|c)` group of a TextMate pattern."""
    m = re.search(r"\(\?:((?:[A-Za-z_]+\|)+[A-Za-z_]+|[A-Za-z_]+)\)", pattern)
    assert m, pattern
    return m.group(1).split("|")


def textmate_rules() -> dict[str, list[str]]:
    """Scope name -> the words its rule matches, for the rules that spell vocabulary."""
    found: dict[str, list[list[str]]] = {}

    def walk(x: object) -> None:
        if isinstance(x, dict):
            pattern = x.get("match") or x.get("begin")
            name = x.get("name", "")
            captures = x.get("captures") or x.get("beginCaptures") or {}
            first = captures.get("1", {}).get("name", "") if isinstance(captures, dict) else ""
            for scope in {name, first} - {""}:
                if pattern:
                    found.setdefault(scope, []).append(alternatives_or_none(pattern))
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(json.loads(TEXTMATE.read_text(encoding="utf-8")))
    return {name: [w for w in lists if w is not None] for name, lists in found.items()}


def alternatives_or_none(pattern: str) -> list[str] | None:
    try:
        return alternatives(pattern)
    except AssertionError:
        return None


def elisp_list(name: str) -> list[str]:
    text = EMACS.read_text(encoding="utf-8")
    m = re.search(r"\(defconst " + re.escape(name) + r"\s+'\(([^)]*)\)", text)
    assert m, f"{name} not found in {EMACS.name}"
    return re.findall(r'"([^"]*)"', m.group(1))


def test_the_exported_json_is_the_vocabulary():
    assert EXPORT.read_text(encoding="utf-8") == export_text(), (
        "vscode-extension/scripts/vocabulary.json is out of date: run "
        "`python tests/architecture/test_vocabulary.py --write`, then "
        "`node scripts/grammar.mjs` in vscode-extension/")


def test_the_textmate_grammar_spells_the_vocabulary():
    rules = textmate_rules()
    for words in rules["invalid.illegal.reserved-word.constellation"]:
        assert words == list(V.RESERVED_WORDS)
    assert rules["support.type.builtin.constellation"] == [list(V.BUILTIN_TYPE_NAMES)]
    keys = [w for w in rules["entity.other.attribute-name.option.constellation"] if w != ["lazy"]]
    assert keys and all(sorted(k) == sorted(OPTION_KEYS_BUT_LAZY) for k in keys)
    assert [sorted(w) for w in rules["support.function.option.constellation"]] == [
        sorted(V.OPTION_FUNCTIONS)]
    assert [sorted(w) for w in rules["constant.language.option-value.constellation"]] == [
        sorted(V.OPTION_WORDS)]
    text = TEXTMATE.read_text(encoding="utf-8")
    groups = [set(g.split("|")) for g in re.findall(r"\(\?:((?:[a-z]+\|)+[a-z]+)\)", text)]
    units = [g for g in groups if g & set(V.DURATION_UNITS) and "ms" in g]
    assert units and all(g == set(V.DURATION_UNITS) for g in units), units


def test_the_emacs_mode_spells_the_vocabulary():
    assert elisp_list("constellation--keywords") == list(V.RESERVED_WORDS)
    assert elisp_list("constellation--types") == list(V.BUILTIN_TYPE_NAMES)
    assert elisp_list("constellation--option-keys") == OPTION_KEYS_BUT_LAZY
    assert sorted(elisp_list("constellation--option-values")) == sorted(
        V.OPTION_WORDS + V.OPTION_FUNCTIONS)


def test_the_neovim_setup_spells_no_vocabulary_of_its_own():
    """Neovim highlights from the server's semantic tokens; a word list here would drift."""
    text = NEOVIM.read_text(encoding="utf-8")
    for word in ("otherwise", "cache_backend", "Candidates", "exponential"):
        assert f'"{word}"' not in text and f"'{word}'" not in text, word


def test_the_lark_grammar_declares_the_reserved_words():
    text = LARK.read_text(encoding="utf-8")
    upper = [w.upper() for w in V.RESERVED_WORDS]
    declared = [line.split()[1:] for line in text.splitlines() if line.startswith("%declare")]
    assert upper in declared
    field = re.search(r"^field:((?:.|\n)*?)^fields:", text, re.M)
    assert field
    names = set(re.findall(r"[A-Z_]+", field.group(1)))
    assert set(upper) <= names  # a field name may be any reserved word (§1.3)


def _python_files():
    for package in PACKAGES:
        yield from (REPO / package).rglob("*.py")


def _collection_words(tree: ast.AST):
    """The string words of every tuple/list/set literal, of every dict's keys, and of every
    string literal made of vocabulary words only (`"type in out if ...".split()`)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            yield {e.value for e in node.elts
                   if isinstance(e, ast.Constant) and isinstance(e.value, str)}
        elif isinstance(node, ast.Dict):
            yield {k.value for k in node.keys
                   if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            words = set(node.value.split())
            if words <= V.RESERVED | set(V.OPTION_KEYS) | V.BUILTIN_TYPES:
                yield words


def test_no_module_spells_the_vocabulary_again():
    """A literal naming most of the reserved words, five option keys or five built-in types
    outside the vocabulary is a second copy that will drift (a rule's few words, such as the
    formatter's spaced operators, are not)."""
    home = REPO / "compiler" / "constellation" / "compiler" / "vocabulary.py"
    copies = []
    for path in _python_files():
        if path == home:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for words in _collection_words(tree):
            for what, vocab, most in (("reserved words", V.RESERVED, 8),
                                      ("option keys", set(V.OPTION_KEYS), 5),
                                      ("built-in types", V.BUILTIN_TYPES, 5)):
                if len(words & vocab) >= most:
                    copies.append(f"{path.relative_to(REPO)}: {what} {sorted(words & vocab)}")
    assert not copies, "\n".join(copies)


def _spells_64_bit_bounds(path: Path) -> bool:
    """`2 ** 63`, `1 << 63` or 2**63-1 written out, in code (comments may name them)."""
    with path.open("rb") as f:
        toks = [t.string for t in tokenize.tokenize(f.readline)
                if t.type in (tokenize.NUMBER, tokenize.OP)]
    return any(a in ("2", "1") and op in ("**", "<<") and b == "63"
               for a, op, b in zip(toks, toks[1:], toks[2:])) or "9223372036854775807" in toks


def test_one_implementation_of_64_bit_integers():
    home = REPO / "compiler" / "constellation" / "compiler" / "values.py"
    assert _spells_64_bit_bounds(home)
    copies = [str(p.relative_to(REPO)) for p in _python_files()
              if p != home and _spells_64_bit_bounds(p)]
    assert not copies, f"64-bit bounds spelled outside compiler/values.py: {copies}"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/architecture/test_vocabulary.py --write")
    EXPORT.write_text(export_text(), encoding="utf-8")
    print(f"wrote {EXPORT}")
