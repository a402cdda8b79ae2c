"""cjk search: part of a Chinese, Japanese or Korean name finds it (issue #18.5)

CJK is written without spaces, so both tokenizers (FTS5 unicode61, PostgreSQL's 'simple'
parser) keep a whole name such as 北京中文贸易有限公司 as one token: "北京" found it as a
prefix, "中文" found nothing. FTS5's `trigram` tokenizer needs 3 characters and most Chinese
words have 2, so the index now also holds the name's *CJK terms*, as Lucene's CJKAnalyzer
does: every CJK character followed by the next one when that is CJK too — the overlapping
bigrams of each CJK run and its last character alone (北京中文 -> 北京 京中 中文 文). Both
tokenizers see them as ordinary words. `core.worklist.search` turns the CJK part of a query
into the phrase of its bigrams (贸易有限 -> "贸易 易有 有限") or, for one or two characters, a
prefix; Latin words are searched exactly as before (their tokens are unchanged).

The terms are computed by the database, in SQL, so whatever writes `entities` (the import and
the API's push, the demo bulk load, hand-written SQL, a future name edit) keeps the index
exact, as with the case counters of 0003, and no writer has to know about it:

- SQLite: the FTS5 table gets a 4th column, `name_cjk`. Its external content is now the view
  `entity_search_source` (the entities plus their CJK terms), so `'rebuild'` recomputes
  everything; the three triggers compute the same terms from `new.name` / `old.name`. A
  trigger cannot loop (no WITH RECURSIVE in a trigger) and FTS5 reads its content with
  virtual tables such as json_each forbidden, so the expression walks the name's character
  positions with `entity_search_positions` (a table of the numbers 1 to 1,000), keeps the CJK
  characters (a GLOB character class) and joins them, each with the next one when that is
  CJK, in position order. A name without CJK skips the walk: at once when it is all ASCII
  (as many characters as bytes), else after one GLOB; this keeps the 'rebuild' of a 1M-case
  demo load cheap (a GLOB on every name alone cost 9 s there).
- PostgreSQL: `search_cjk_terms(text)`, an IMMUTABLE SQL function (generate_series over the
  positions), is added to the generated `search_vector` (same GIN index), only for names
  that contain CJK (one regular expression test per row otherwise). PostgreSQL 15 cannot
  change a generated column's expression, so the column and its index are dropped and added
  again: that recomputes every row.

Either way the upgrade rebuilds the index for the existing rows, and the downgrade restores
0001's index (rebuilt too). The ranges below must equal `core.worklist.search.CJK_RANGES`
(a test compares them); the terms are checked against `core.worklist.search.cjk_terms`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 00:30:00
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Han, kana and Hangul letters, as code point ranges (frozen here: changing them needs a new
# revision that rebuilds the index).
CJK_RANGES = (
    (0x1100, 0x11FF), (0x3005, 0x3007), (0x3041, 0x3096), (0x309D, 0x309F),
    (0x30A1, 0x30FA), (0x30FC, 0x30FF), (0x3131, 0x318E), (0x31F0, 0x31FF),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F), (0xFFA0, 0xFFDC), (0x20000, 0x3134F),
)
CJK_CLASS = "[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in CJK_RANGES) + "]"
FTS_OPTIONS = "tokenize='unicode61 remove_diacritics 2', prefix='2 3'"
COLUMNS_0001 = "name, email, registration_number"
COLUMNS = "name, email, registration_number, name_cjk"


POSITIONS = 1000  # character positions SQLite walks: more than a name holds (300)


def sqlite_cjk_terms(name: str) -> str:
    """SQLite expression: the CJK terms of the text `name` (a column or new.x / old.x)."""
    at = f"substr({name}, p.i, 1)"
    next_is_cjk = f"(substr({name}, p.i + 1, 1) GLOB '{CJK_CLASS}')"
    return (f"CASE WHEN length({name}) = length(CAST({name} AS BLOB)) THEN '' "  # ASCII
            f"WHEN {name} GLOB '*{CJK_CLASS}*' THEN (SELECT group_concat(term, ' ') "
            f"FROM (SELECT substr({name}, p.i, 1 + {next_is_cjk}) AS term "
            f"FROM entity_search_positions p WHERE p.i <= length({name}) "
            f"AND {at} GLOB '{CJK_CLASS}' ORDER BY p.i)) ELSE '' END")


SQLITE_VIEW = ("CREATE VIEW entity_search_source AS SELECT id, name, email, registration_number, "
               f"{sqlite_cjk_terms('name')} AS name_cjk FROM entities")


def _sqlite_triggers(columns: str, values) -> dict[str, str]:
    new, old = values("new"), values("old")
    return {
        "entities_ai": ("CREATE TRIGGER entities_ai AFTER INSERT ON entities BEGIN "
                        f"INSERT INTO entity_search(rowid, {columns}) VALUES ({new}); END"),
        "entities_ad": ("CREATE TRIGGER entities_ad AFTER DELETE ON entities BEGIN "
                        f"INSERT INTO entity_search(entity_search, rowid, {columns}) "
                        f"VALUES ('delete', {old}); END"),
        "entities_au": ("CREATE TRIGGER entities_au AFTER UPDATE ON entities BEGIN "
                        f"INSERT INTO entity_search(entity_search, rowid, {columns}) "
                        f"VALUES ('delete', {old}); "
                        f"INSERT INTO entity_search(rowid, {columns}) VALUES ({new}); END"),
    }


SQLITE_TRIGGERS = _sqlite_triggers(COLUMNS, lambda row: (
    f"{row}.id, {row}.name, {row}.email, {row}.registration_number, "
    f"{sqlite_cjk_terms(row + '.name')}"))
SQLITE_TRIGGERS_0001 = _sqlite_triggers(COLUMNS_0001, lambda row: (
    f"{row}.id, {row}.name, {row}.email, {row}.registration_number"))

PG_FUNCTION = f"""
CREATE FUNCTION search_cjk_terms(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT coalesce(string_agg(
           substr(t, i, CASE WHEN substr(t, i + 1, 1) ~ '{CJK_CLASS}' THEN 2 ELSE 1 END),
           ' ' ORDER BY i), '')
FROM generate_series(1, length(t)) AS i
WHERE substr(t, i, 1) ~ '{CJK_CLASS}'
$$"""
SEARCH_TEXT_PG = ("lower(coalesce(name,'') || ' ' || coalesce(email,'') || ' ' || "
                  "coalesce(registration_number,''))")
SEARCH_VECTOR_0001 = ("to_tsvector('simple', regexp_replace("
                      f"{SEARCH_TEXT_PG}, '[^[:alnum:]]+', ' ', 'g'))")
SEARCH_VECTOR = (f"{SEARCH_VECTOR_0001} || CASE WHEN name ~ '{CJK_CLASS}' "
                 "THEN to_tsvector('simple', search_cjk_terms(name)) ELSE ''::tsvector END")


def _sqlite_index(create_view: bool, columns: str, triggers: dict[str, str]) -> None:
    for name in ("entities_ai", "entities_ad", "entities_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS entity_search")
    op.execute("DROP VIEW IF EXISTS entity_search_source")
    op.execute("DROP TABLE IF EXISTS entity_search_positions")
    content = "entity_search_source" if create_view else "entities"
    if create_view:
        op.execute("CREATE TABLE entity_search_positions (i INTEGER PRIMARY KEY)")
        op.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                   f"WHERE i < {POSITIONS}) INSERT INTO entity_search_positions (i) SELECT i FROM n")
        op.execute(SQLITE_VIEW)
    op.execute(f"CREATE VIRTUAL TABLE entity_search USING fts5({columns}, "
               f"content='{content}', content_rowid='id', {FTS_OPTIONS})")
    for sql in triggers.values():
        op.execute(sql)
    op.execute("INSERT INTO entity_search(entity_search) VALUES('rebuild')")


def _pg_search_vector(expression: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_entities_search")
    op.execute("ALTER TABLE entities DROP COLUMN IF EXISTS search_vector")
    op.execute("ALTER TABLE entities ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
               f"({expression}) STORED")
    op.execute("CREATE INDEX ix_entities_search ON entities USING gin (search_vector)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_index(True, COLUMNS, SQLITE_TRIGGERS)
    else:
        op.execute(PG_FUNCTION)
        _pg_search_vector(SEARCH_VECTOR)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_index(False, COLUMNS_0001, SQLITE_TRIGGERS_0001)
    else:
        _pg_search_vector(SEARCH_VECTOR_0001)
        op.execute("DROP FUNCTION IF EXISTS search_cjk_terms(text)")
