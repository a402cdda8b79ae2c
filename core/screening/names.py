"""How the built-in screener reads and compares names: OpenSanctions' `rigour` does the
reading, so that a list entry and a case subject written in different scripts, orders, cases
and legal forms come out as comparable words; rapidfuzz measures how alike two words are.

A name becomes a list of `Token`s (`read_name`): honorifics dropped ("Mr", "Dr", "His
Excellency"), legal forms put in one spelling ("Limited" and "Ltd" both `ltd`, "Общество с
ограниченной ответственностью" `ooo`), every script transliterated to lower-case ASCII
("Мухаммад" `muhammad`, "王伟" `wang` `wei`, "José" `jose`), punctuation and case gone. What
rigour knows about each distinct word (`WordFacts`, `word_facts`): its sound (metaphone), the
given names and nicknames it stands for in any script (rigour's name symbols, so that the
Arabic "محمد" and "Mohammed" are the same name), its role — an ordinary name word, a
particle ("al", "bin", "de"), a legal form ("LLC", "GmbH"), a generic business word
("Trading", "Holding") — and, for a word written in Arabic or Hebrew, its consonants.
`word_similarity` compares two words with that knowledge; `NameComparison` scores a screened
name against list names word by word. core/screening/matching.py builds the list's index on
these and adds the birth date and country.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby

from rapidfuzz.distance import OSA
from rigour.names import NameTypeTag, analyze_names, tokenize_name
from rigour.text import ascii_text, is_stopword, metaphone, remove_bracketed_text
from rigour.text.scripts import text_scripts

PERSON = "person"
ORGANIZATION = "organization"
OTHER = "other"

# A word's role in a name, which sets its weight in a comparison (NameComparison).
ROLE_NAME = 0       # an ordinary name word: "john", "petrov", "romashka"
ROLE_PARTICLE = 1   # "al", "bin", "de", "van", "sheikh", "jr": part of a name, says little
ROLE_LEGAL = 2      # a legal form: "ltd", "llc", "ooo", "gmbh", "ag"
ROLE_BUSINESS = 3   # a generic business word: "trading", "holding", "group", "shipping"
ROLE_NUMBER = 4     # digits: "2", "1990" (must be equal to count)

# The similarity given to two words spelt apart that rigour knows as the same (the same
# sound, or consonants for an abjad; the same name symbol), and to an initial and a word
# starting with it.
SAME_SOUND = 0.9
SAME_NAME_SYMBOL = 0.92
INITIAL = 0.9

# Scripts that leave short vowels unwritten: their words are compared by consonants too.
ABJADS = frozenset({"Arabic", "Hebrew", "Syriac", "Thaana"})
_NOT_CONSONANTS = frozenset("aeiouyw'")
_TYPE_TAGS = {PERSON: NameTypeTag.PER, ORGANIZATION: NameTypeTag.ORG, OTHER: NameTypeTag.OBJ}
_MAX_NAME_CHARS = 400   # longer inputs are cut: a name, not a document


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a name as compared: `form` is ASCII lower case; `source` is the word as
    rigour read it in its own script (lower case), where its name symbols come from."""
    form: str
    source: str


@dataclass(frozen=True, slots=True)
class WordFacts:
    """What rigour knows about one word (by its form): its metaphone, the given names and
    nicknames it may stand for (rigour name symbols, any script), and its role; whether it
    was written in an abjad (Arabic, Hebrew: short vowels unwritten) and its consonants."""
    form: str
    sound: str
    names: frozenset[str]
    role: int
    abjad: bool = False
    skeleton: str = ""


def type_tag(schema: str | None) -> NameTypeTag:
    """rigour's kind of name for a list schema ("person", "organization", "other")."""
    return _TYPE_TAGS.get(schema or "", NameTypeTag.ENT)


def read_name(text: str, schema: str | None) -> tuple[Token, ...]:
    """The words of a name as the matcher compares them (empty for a name with no letters or
    digits: "", "-", an emoji). `schema` chooses rigour's reading: honorifics dropped for a
    person, legal forms rewritten for an organisation."""
    return _read_name(text[:_MAX_NAME_CHARS] if text else "", schema or "")


@lru_cache(maxsize=8192)
def _read_name(text: str, schema: str) -> tuple[Token, ...]:
    if not text or not text.strip():
        return ()
    tag = type_tag(schema or None)
    cleaned = remove_bracketed_text(text).strip() or text
    if tag == NameTypeTag.PER:
        # "J.R. Smith", "J.Smith": rigour joins letters across a full stop; for a person's
        # name each is an initial.
        cleaned = cleaned.replace(".", ". ")
    tokens: list[Token] = []
    for name in analyze_names(tag, [cleaned], consolidate=False, symbols=False,
                              phonetics=False):
        for part in name.parts:
            tokens.extend(_part_tokens(part.form, part.ascii))
        break   # one input name gives one Name
    return tuple(tokens)


def _part_tokens(source: str, ascii_form: str | None) -> list[Token]:
    """A rigour name part as tokens: its own ASCII form when rigour has one (Latin, Cyrillic,
    Greek, Armenian, Georgian, Hangul), else rigour's broad transliteration (Arabic, Han, ...),
    which may split it ("王伟" -> wang, wei)."""
    if ascii_form:
        forms = tokenize_name(ascii_form.lower())
    else:
        forms = tokenize_name(ascii_text(source).lower())
    if len(forms) == 1:
        return [Token(forms[0], source)]
    return [Token(form, form) for form in forms]


@lru_cache(maxsize=65536)
def source_symbols(source: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """rigour's symbols for one word as written: (given names and nicknames it stands for,
    person-name particles such as "bin" or "sheikh", organisation symbols such as a legal
    form class "ORGCLS:LLC" or a business word "SYMBOL:TRADE")."""
    names: set[str] = set()
    particles: set[str] = set()
    org: set[str] = set()
    for name in analyze_names(NameTypeTag.PER, [source], consolidate=False, phonetics=False):
        for symbol in name.symbols:
            category = symbol.category.value
            if category in ("NAME", "NICK"):
                names.add(f"{category}:{symbol.id}")
            elif category == "SYMBOL":
                particles.add(symbol.id)
    for name in analyze_names(NameTypeTag.ORG, [source], consolidate=False, phonetics=False):
        for symbol in name.symbols:
            category = symbol.category.value
            if category in ("ORGCLS", "SYMBOL", "DOMAIN"):
                org.add(f"{category}:{symbol.id}")
    return frozenset(names), frozenset(particles), frozenset(org)


def word_facts(form: str, sources: set[str] | frozenset[str]) -> WordFacts:
    """The facts of a word `form`, gathered from every way it was written (`sources`)."""
    names: set[str] = set()
    particle = False
    legal_class = ""
    business = False
    abjad = False
    for source in sources:
        abjad = abjad or not ABJADS.isdisjoint(text_scripts(source))
        source_names, particles, org = source_symbols(source)
        names |= source_names
        particle = particle or bool(particles)
        for symbol in org:
            if symbol.startswith("ORGCLS:"):
                legal_class = symbol
            else:
                business = True
                names.add(symbol)   # "Corp" and "Corporation", "Co" and "Company" are alike
    if form.isdigit():
        role = ROLE_NUMBER
    elif is_initial(form):
        role = ROLE_NAME    # "a", "y": an initial here, not the stopword
    elif legal_class:
        role = ROLE_LEGAL
        names = {legal_class}   # legal forms of one class are the same word: LLC = GmbH = ООО
    elif is_stopword(form) or particle:
        role = ROLE_PARTICLE
    elif business:
        role = ROLE_BUSINESS
    else:
        role = ROLE_NAME
    return WordFacts(form, metaphone(form) if form.isascii() else "", frozenset(names), role,
                     abjad, consonants(form))


def consonants(form: str) -> str:
    """The consonant skeleton of an ASCII word, doubled letters once ("alqahtani" and the
    Arabic "القحطاني", transliterated "alqhtany", both `lqhtn`): how a word written without
    short vowels is compared with a Latin spelling."""
    return "".join(letter for letter, _ in groupby(c for c in form if c not in _NOT_CONSONANTS))


def query_word_facts(token: Token) -> WordFacts:
    """`word_facts` for a word of a screened name (cached: screenings repeat words)."""
    return _query_word_facts(token.form, token.source)


@lru_cache(maxsize=16384)
def _query_word_facts(form: str, source: str) -> WordFacts:
    return word_facts(form, {source, form})


def is_initial(form: str) -> bool:
    """One letter: an initial ("J" of "J. Smith")."""
    return len(form) == 1 and form.isalpha()


def word_similarity(left: WordFacts, right: WordFacts) -> float:
    """How alike two words are, 0-1: 1 for the same word; rapidfuzz's optimal string
    alignment similarity for a spelling difference ("Smtih"/"Smith" 0.8); at least
    SAME_SOUND when rigour's metaphone hears the same word ("Aleksandr"/"Alexander") and at
    least SAME_NAME_SYMBOL when rigour knows them as the same name in any script
    ("محمد"/"Muhammad"); INITIAL for an initial and a word starting with it; 0 for different
    numbers."""
    if left.form == right.form:
        return 1.0
    if left.role == ROLE_NUMBER or right.role == ROLE_NUMBER:
        return 0.0
    if is_initial(left.form) or is_initial(right.form):
        return INITIAL if left.form[0] == right.form[0] else 0.0
    similarity = OSA.normalized_similarity(left.form, right.form)
    if similarity < SAME_NAME_SYMBOL and left.names and not left.names.isdisjoint(right.names):
        return SAME_NAME_SYMBOL
    if similarity < SAME_SOUND and len(left.sound) >= 2 and left.sound == right.sound:
        return SAME_SOUND
    if (similarity < SAME_SOUND and (left.abjad or right.abjad) and len(left.skeleton) >= 2
            and left.skeleton == right.skeleton):
        return SAME_SOUND
    return similarity


def joined_similarity(word: WordFacts, joined: str, joined_abjad: bool) -> float:
    """How alike one word is to two neighbouring words of the other name written together
    (`joined`): "abdulrahman" and "abdul"+"rahman", "alrshyd" (Arabic) and "al"+"rashid"."""
    similarity = OSA.normalized_similarity(word.form, joined)
    if similarity < SAME_SOUND and len(word.sound) >= 2 and word.sound == metaphone(joined):
        return SAME_SOUND
    if (similarity < SAME_SOUND and (word.abjad or joined_abjad) and len(word.skeleton) >= 2
            and word.skeleton == consonants(joined)):
        return SAME_SOUND
    return similarity


# Comparing two names (NameComparison), tuned on the "tune" half of the labelled set
# tests/screening/data/name_pairs.csv (docs/SCREENING.md, "How names are matched").
PAIR_MIN = 0.6             # words less alike than this are not paired at all
JOINED_MIN = 0.85          # one word against two written apart: at least this alike
EXTRA_WORDS_WEIGHT = 0.2   # how much the less covered name counts (missing middle names)
ONE_WORD_CAP = 0.6         # names agreeing on no name word (a person's: on one) at most
_ROLE_WEIGHTS = {ROLE_PARTICLE: 0.7, ROLE_LEGAL: 0.7, ROLE_BUSINESS: 2.0, ROLE_NUMBER: 4.0}


class NameComparison:
    """One screened name (its words' facts) compared with names of a list, one by one
    (`score`); the list's words are given as ids into `vocabulary` (their facts), and word
    similarities are remembered for the screening."""

    def __init__(self, facts: list[WordFacts], vocabulary: list[WordFacts],
                 schema: str) -> None:
        self.facts = facts
        self.vocabulary = vocabulary
        self.person = schema == PERSON
        self.query_weights = [self._weight(f) for f in facts]
        self.query_names = [self._is_name_word(f) for f in facts]
        self.similar: list[dict[int, float]] = [{} for _ in facts]
        self.joined: dict[tuple, float] = {}
        self.list_weights: dict[int, float] = {}

    def _is_name_word(self, fact: WordFacts) -> bool:
        """A word that says who it is (not a particle, a legal form or, for a company, a
        generic business word)."""
        return fact.role == ROLE_NAME or (self.person and fact.role in (ROLE_LEGAL,
                                                                         ROLE_BUSINESS))

    def _weight(self, fact: WordFacts) -> float:
        """How much a word counts: name words by their length (3 to 8), an initial 1, the
        rest by role."""
        if is_initial(fact.form):
            return 1.0
        if self._is_name_word(fact):
            return float(min(max(len(fact.form), 3), 8))
        return _ROLE_WEIGHTS[fact.role]

    def score(self, words: tuple[int, ...]) -> int:
        """The name score 0-100 against one list name: the words paired, most alike first (a
        word may pair with two neighbouring words of the other name written apart), then
        how much of each name its pairs cover, by weight; the better covered name counts
        for 1 - EXTRA_WORDS_WEIGHT, the other for the rest."""
        vocabulary = self.vocabulary
        facts = [vocabulary[w] for w in words]
        options = []
        strong_query: set[int] = set()   # words with an equal on the other side
        strong_list: set[int] = set()
        for i, query_fact in enumerate(self.facts):
            known = self.similar[i]
            for j, word in enumerate(words):
                similarity = known.get(word)
                if similarity is None:
                    similarity = known[word] = word_similarity(query_fact, facts[j])
                if similarity >= PAIR_MIN:
                    options.append((similarity, 1, (i,), (j,)))
                    if similarity == 1.0:
                        strong_query.add(i)
                        strong_list.add(j)
        if len(strong_query) < len(self.facts) or len(strong_list) < len(words):
            self._add_joined(options, words, facts, strong_query, strong_list)
        options.sort(reverse=True)
        query_similarity: dict[int, float] = {}
        list_similarity: dict[int, float] = {}
        query_weights = list(self.query_weights)
        list_weights = [self._list_weight(w, f) for w, f in zip(words, facts)]
        name_pairs = 0
        for similarity, _, query_at, list_at in options:
            if any(i in query_similarity for i in query_at) or \
                    any(j in list_similarity for j in list_at):
                continue
            for i in query_at:
                query_similarity[i] = similarity
            for j in list_at:
                list_similarity[j] = similarity
            if len(query_at) == len(list_at) == 1 and (
                    is_initial(self.facts[query_at[0]].form) or is_initial(facts[list_at[0]].form)):
                query_weights[query_at[0]] = list_weights[list_at[0]] = 1.0
            if any(self.query_names[i] for i in query_at):
                name_pairs += 1
        query_cover = sum(query_weights[i] * s for i, s in query_similarity.items()) \
            / (sum(query_weights) or 1.0)
        list_cover = sum(list_weights[j] * s for j, s in list_similarity.items()) \
            / (sum(list_weights) or 1.0)
        high, low = max(query_cover, list_cover), min(query_cover, list_cover)
        score = (1 - EXTRA_WORDS_WEIGHT) * high + EXTRA_WORDS_WEIGHT * low
        if (name_pairs == 0 or (self.person and name_pairs < 2)) and self._name_left_out(
                facts, query_similarity, list_similarity):
            score = min(score, ONE_WORD_CAP)
        return round(100 * score)

    def _list_weight(self, word: int, fact: WordFacts) -> float:
        weight = self.list_weights.get(word)
        if weight is None:
            weight = self.list_weights[word] = self._weight(fact)
        return weight

    def _add_joined(self, options: list, words: tuple[int, ...], facts: list[WordFacts],
                    strong_query: set[int], strong_list: set[int]) -> None:
        """Options pairing a word without an equal on the other side with two neighbouring
        such words of the other name written together ("Abdulrahman", "Abdul Rahman"), when
        alike enough (JOINED_MIN)."""
        query = self.facts
        for i, fact in enumerate(query):
            if i in strong_query:
                continue
            for j in range(len(words) - 1):
                if j in strong_list or j + 1 in strong_list:
                    continue
                key = (i, words[j], words[j + 1])
                similarity = self.joined.get(key)
                if similarity is None:
                    similarity = self.joined[key] = _joined(fact, facts[j], facts[j + 1])
                if similarity >= JOINED_MIN:
                    options.append((similarity, 2, (i,), (j, j + 1)))
        for j, fact in enumerate(facts):
            if j in strong_list:
                continue
            for i in range(len(query) - 1):
                if i in strong_query or i + 1 in strong_query:
                    continue
                key = (words[j], i)
                similarity = self.joined.get(key)
                if similarity is None:
                    similarity = self.joined[key] = _joined(fact, query[i], query[i + 1])
                if similarity >= JOINED_MIN:
                    options.append((similarity, 2, (i, i + 1), (j,)))

    def _name_left_out(self, facts: list[WordFacts], query_similarity: dict,
                       list_similarity: dict) -> bool:
        """Whether either name has a name word that paired with nothing."""
        return any(named and i not in query_similarity
                   for i, named in enumerate(self.query_names)) or \
            any(self._is_name_word(f) and j not in list_similarity for j, f in enumerate(facts))


def _joined(word: WordFacts, left: WordFacts, right: WordFacts) -> float:
    """`joined_similarity` of a word and two words written together, 0 without a chance
    (lengths three letters apart, an initial, another first letter outside an abjad)."""
    if abs(len(left.form) + len(right.form) - len(word.form)) > 3 or \
            is_initial(left.form) or is_initial(right.form):
        return 0.0
    abjad = left.abjad or right.abjad
    if word.form[0] != left.form[0] and not (abjad or word.abjad):
        return 0.0
    return joined_similarity(word, left.form + right.form, abjad)
