"""The search box's words as a full-text query (SQLite FTS5 MATCH, PostgreSQL tsquery).

Latin (and any non-CJK) words are matched as word prefixes, as the reviewer types. Chinese,
Japanese and Korean are written without spaces, so a whole name such as 北京中文贸易有限公司
is one token to both databases' tokenizers, and a part of it ("中文") would never match. The
index therefore also holds the name's CJK terms (migration 0005, as Lucene's CJKAnalyzer
does): every CJK character followed by the next one when that is CJK too — the overlapping
bigrams of each CJK run, and the run's last character alone (北京中文 -> 北京 京中 中文 文). A CJK
part of the query becomes the phrase of its bigrams (中文贸易 -> "中文 文贸 贸易": the name
holds that exact substring), or, for one or two characters, a prefix (中 -> 中*, 中文 -> 中文*:
every occurrence of a character starts one of the terms). Both tokenizers see the terms as
ordinary words. Words without CJK give exactly the query they gave before.

`CJK_RANGES` must stay equal to the ranges migration 0005 indexes (a test compares them).
"""
from __future__ import annotations

import re

# Han (CJK unified ideographs, extensions, compatibility), kana, Hangul: code point ranges,
# letters only (no CJK punctuation such as 、。・).
CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x1100, 0x11FF),    # Hangul jamo
    (0x3005, 0x3007),    # 々 〆 〇
    (0x3041, 0x3096),    # hiragana
    (0x309D, 0x309F),    # ゝ ゞ ゟ
    (0x30A1, 0x30FA),    # katakana
    (0x30FC, 0x30FF),    # ー ヽ ヾ ヿ
    (0x3131, 0x318E),    # Hangul compatibility jamo
    (0x31F0, 0x31FF),    # katakana phonetic extensions
    (0x3400, 0x4DBF),    # CJK extension A
    (0x4E00, 0x9FFF),    # CJK unified ideographs
    (0xAC00, 0xD7A3),    # Hangul syllables
    (0xF900, 0xFAFF),    # CJK compatibility ideographs
    (0xFF66, 0xFF9F),    # halfwidth katakana
    (0xFFA0, 0xFFDC),    # halfwidth Hangul
    (0x20000, 0x3134F),  # CJK extensions B to G, compatibility supplement
)
CJK_CLASS = "[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in CJK_RANGES) + "]"
_CJK_PIECES = re.compile(f"({CJK_CLASS}+)")
MAX_WORDS = 8


def cjk_terms(text: str) -> str:
    """The CJK terms migration 0005 indexes for a name, computed in Python (tests compare
    the two): each CJK character followed by the next one when that is CJK too."""
    terms = []
    for run in re.findall(f"{CJK_CLASS}+", text):
        terms.extend(run[i:i + 2] for i in range(len(run)))
    return " ".join(terms)


def _prefix(piece: str, dialect: str) -> str:
    return f"{piece}:*" if dialect == "postgresql" else f'"{piece}"*'


def _cjk_run(run: str, dialect: str) -> str:
    """One CJK run inside a word: the phrase of its bigrams, or a prefix for one character."""
    if len(run) == 1:
        return _prefix(run, dialect)
    bigrams = [run[i:i + 2] for i in range(len(run) - 1)]
    if dialect == "postgresql":
        return bigrams[0] if len(bigrams) == 1 else "(" + " <-> ".join(bigrams) + ")"
    return '"' + " ".join(bigrams) + '"'


def _word_term(word: str, dialect: str) -> str:
    """A word without CJK is a prefix, as always. A word with CJK also matches through its
    parts: its CJK runs (bigram phrases) and the pieces between them (prefixes), all of them
    required; the word as a prefix stays one way to match (nothing found before is lost)."""
    pieces = [p for p in _CJK_PIECES.split(word) if p]
    if not _CJK_PIECES.search(word) or (len(pieces) == 1 and len(word) <= 2):
        return _prefix(word, dialect)  # one or two CJK characters: a prefix covers the terms
    parts = [_cjk_run(p, dialect) if _CJK_PIECES.fullmatch(p) else _prefix(p, dialect)
             for p in pieces]
    both = " & " if dialect == "postgresql" else " AND "
    every = parts[0] if len(parts) == 1 else "(" + both.join(parts) + ")"
    return f"({_prefix(word, dialect)} {'|' if dialect == 'postgresql' else 'OR'} {every})"


def fts_query(search: str, dialect: str) -> str | None:
    """The search box's words as a query for the full-text index, every word required
    (None: no words). SQLite: an FTS5 MATCH expression; PostgreSQL: a to_tsquery text."""
    words = re.findall(r"\w+", search.lower())[:MAX_WORDS]
    if not words:
        return None
    return (" & " if dialect == "postgresql" else " ").join(_word_term(w, dialect) for w in words)
