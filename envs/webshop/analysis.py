"""Lucene's English analysis as the original's search engine runs it (Anserini's ``DefaultEnglishAnalyzer``).

The chain is Lucene 9's ``StandardTokenizer`` (Unicode word segmentation, UAX #29, as its JFlex grammar
applies it: words, numbers, runs of South-East Asian letters, single ideographs and hiragana, katakana and
hangul runs, and emoji sequences; everything else is dropped; a token is at most 255 characters), then
``EnglishPossessiveFilter`` (a trailing ``'s``), ``LowerCaseFilter``, ``StopFilter`` (Lucene's 33 English
stop words) and ``PorterStemFilter`` (Porter's C reference algorithm).

The grammar is written out below as ``regex`` patterns: all of JFlex's rules matched leftmost-longest as
JFlex matches them, and a faster ordered pattern for text without the few characters where the two could
differ; ASCII text has its own small pattern, and text is analysed word by word (no token spans white space).
Character classes come from the ``regex`` module's Unicode data, corrected for the characters whose
word-break class changed after Unicode 9.0 (the version Lucene's grammar is built on); emoji classes are
Unicode's emoji data 11.0, as in Lucene. Characters first assigned after Unicode 9.0 still follow the newer
data (Lucene drops them); the WebShop README gives the measured agreement.
"""

from __future__ import annotations

import re
from functools import lru_cache

from agentgym.error import import_optional

#: Lucene's English stop words (``EnglishAnalyzer.ENGLISH_STOP_WORDS_SET``).
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)

#: ``StandardTokenizer``'s longest token: its scanner reads at most this many characters into one token.
MAX_TOKEN_LENGTH = 255

# Unicode's emoji data 11.0 (emoji-data.txt), the version Lucene 9's StandardTokenizer grammar was built with.
_EMOJI = (
    "#*0-9\xa9\xae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9-\u21aa\u231a-\u231b\u2328\u23cf\u23e9-\u23f3"
    "\u23f8-\u23fa\u24c2\u25aa-\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u2604\u260e\u2611\u2614-\u2615\u2618"
    "\u261d\u2620\u2622-\u2623\u2626\u262a\u262e-\u262f\u2638-\u263a\u2640\u2642\u2648-\u2653\u265f-\u2660"
    "\u2663\u2665-\u2666\u2668\u267b\u267e-\u267f\u2692-\u2697\u2699\u269b-\u269c\u26a0-\u26a1\u26aa-\u26ab"
    "\u26b0-\u26b1\u26bd-\u26be\u26c4-\u26c5\u26c8\u26ce-\u26cf\u26d1\u26d3-\u26d4\u26e9-\u26ea\u26f0-\u26f5"
    "\u26f7-\u26fa\u26fd\u2702\u2705\u2708-\u270d\u270f\u2712\u2714\u2716\u271d\u2721\u2728\u2733-\u2734"
    "\u2744\u2747\u274c\u274e\u2753-\u2755\u2757\u2763-\u2764\u2795-\u2797\u27a1\u27b0\u27bf\u2934-\u2935"
    "\u2b05-\u2b07\u2b1b-\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299\U0001f004\U0001f0cf\U0001f170-\U0001f171"
    "\U0001f17e-\U0001f17f\U0001f18e\U0001f191-\U0001f19a\U0001f1e6-\U0001f1ff\U0001f201-\U0001f202\U0001f21a"
    "\U0001f22f\U0001f232-\U0001f23a\U0001f250-\U0001f251\U0001f300-\U0001f321\U0001f324-\U0001f393"
    "\U0001f396-\U0001f397\U0001f399-\U0001f39b\U0001f39e-\U0001f3f0\U0001f3f3-\U0001f3f5"
    "\U0001f3f7-\U0001f4fd\U0001f4ff-\U0001f53d\U0001f549-\U0001f54e\U0001f550-\U0001f567"
    "\U0001f56f-\U0001f570\U0001f573-\U0001f57a\U0001f587\U0001f58a-\U0001f58d\U0001f590\U0001f595-\U0001f596"
    "\U0001f5a4-\U0001f5a5\U0001f5a8\U0001f5b1-\U0001f5b2\U0001f5bc\U0001f5c2-\U0001f5c4\U0001f5d1-\U0001f5d3"
    "\U0001f5dc-\U0001f5de\U0001f5e1\U0001f5e3\U0001f5e8\U0001f5ef\U0001f5f3\U0001f5fa-\U0001f64f"
    "\U0001f680-\U0001f6c5\U0001f6cb-\U0001f6d2\U0001f6e0-\U0001f6e5\U0001f6e9\U0001f6eb-\U0001f6ec\U0001f6f0"
    "\U0001f6f3-\U0001f6f9\U0001f910-\U0001f93a\U0001f93c-\U0001f93e\U0001f940-\U0001f945"
    "\U0001f947-\U0001f970\U0001f973-\U0001f976\U0001f97a\U0001f97c-\U0001f9a2\U0001f9b0-\U0001f9b9"
    "\U0001f9c0-\U0001f9c2\U0001f9d0-\U0001f9ff"
)
_EMOJI_MODIFIER = "\U0001f3fb-\U0001f3ff"
_EMOJI_MODIFIER_BASE = (
    "\u261d\u26f9\u270a-\u270d\U0001f385\U0001f3c2-\U0001f3c4\U0001f3c7\U0001f3ca-\U0001f3cc"
    "\U0001f442-\U0001f443\U0001f446-\U0001f450\U0001f466-\U0001f469\U0001f46e\U0001f470-\U0001f478\U0001f47c"
    "\U0001f481-\U0001f483\U0001f485-\U0001f487\U0001f4aa\U0001f574-\U0001f575\U0001f57a\U0001f590"
    "\U0001f595-\U0001f596\U0001f645-\U0001f647\U0001f64b-\U0001f64f\U0001f6a3\U0001f6b4-\U0001f6b6\U0001f6c0"
    "\U0001f6cc\U0001f918-\U0001f91c\U0001f91e-\U0001f91f\U0001f926\U0001f930-\U0001f939\U0001f93d-\U0001f93e"
    "\U0001f9b5-\U0001f9b6\U0001f9b8-\U0001f9b9\U0001f9d1-\U0001f9dd"
)
_EXTENDED_PICTOGRAPHIC = (
    "\xa9\xae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9-\u21aa\u231a-\u231b\u2328\u2388\u23cf\u23e9-\u23f3"
    "\u23f8-\u23fa\u24c2\u25aa-\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u2605\u2607-\u2612\u2614-\u2685"
    "\u2690-\u2705\u2708-\u2712\u2714\u2716\u271d\u2721\u2728\u2733-\u2734\u2744\u2747\u274c\u274e"
    "\u2753-\u2755\u2757\u2763-\u2767\u2795-\u2797\u27a1\u27b0\u27bf\u2934-\u2935\u2b05-\u2b07\u2b1b-\u2b1c"
    "\u2b50\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001f0ff\U0001f10d-\U0001f10f\U0001f12f"
    "\U0001f16c-\U0001f171\U0001f17e-\U0001f17f\U0001f18e\U0001f191-\U0001f19a\U0001f1ad-\U0001f1e5"
    "\U0001f201-\U0001f20f\U0001f21a\U0001f22f\U0001f232-\U0001f23a\U0001f23c-\U0001f23f\U0001f249-\U0001f3fa"
    "\U0001f400-\U0001f53d\U0001f546-\U0001f64f\U0001f680-\U0001f6ff\U0001f774-\U0001f77f"
    "\U0001f7d5-\U0001f7ff\U0001f80c-\U0001f80f\U0001f848-\U0001f84f\U0001f85a-\U0001f85f"
    "\U0001f888-\U0001f88f\U0001f8ae-\U0001f8ff\U0001f90c-\U0001f93a\U0001f93c-\U0001f945"
    "\U0001f947-\U0001fffd"
)
# Characters whose word-break class differs between Unicode 9.0 (Lucene's grammar) and the regex module's data:
# WB=Other in 9.0, WB=Format in 9.0, WB=MidNum in 9.0, and a Line_Break=Complex_Context digit.
_NOW_OTHER = "\xb8\u02e5-\u02eb\u055a\u055f\u058a\ua708-\ua716\U0001fbf0-\U0001fbf9"
_NOW_FORMAT = "\u0600-\u0605\u06dd\u070f\u08e2\U000110bd\U000110cd"
_NOW_MID_NUM = "\ufe10\ufe14"
_NOW_COMPLEX_CONTEXT = "\u19da"
_CHANGED = _NOW_OTHER + _NOW_FORMAT + _NOW_MID_NUM + _NOW_COMPLEX_CONTEXT


def _grammar(exact: bool) -> str:
    """Return StandardTokenizer's token rules as one ``regex`` (V1) pattern.

    ``exact``: all of JFlex's rules, to be matched leftmost-longest (POSIX); else an ordered pattern that matches
    the same tokens, faster, on text without the :data:`_AMBIGUOUS` characters.
    """

    def wb(*names: str) -> str:  # a union of word-break classes, as of Unicode 9.0
        return "[[" + "".join(rf"\p{{WB={name}}}" for name in names) + f"]--[{_CHANGED}]]"

    ext = rf"[{wb('Format', 'Extend', 'ZWJ')}{_NOW_FORMAT}]"
    efz = ext + "*"  # UAX#29 WB4: a character absorbs the format, extend and zero-width-joiner marks after it
    efz_sans_sel = rf"[{ext}--[\uFE0E\uFE0F]]*"
    rkam = rf"\p{{WB=Regional_Indicator}}0-9#*\xa9\xae\u2122\u3030\u303d{_EMOJI_MODIFIER}"
    emoji_char = rf"[[{_EXTENDED_PICTOGRAPHIC}][[{_EMOJI}]--[{rkam}]]]"
    emoji_unit = (
        rf"(?:\u200d*{emoji_char}{efz_sans_sel}\ufe0f?"
        rf"|(?:\u200d*[{_EMOJI_MODIFIER_BASE}]{efz_sans_sel})?[{_EMOJI_MODIFIER}]{efz_sans_sel})"
    )
    emoji = (
        rf"{emoji_unit}(?:(?:\u200d{emoji_unit})*|[\U000E0020-\U000E007E]+\U000E007F)"
        rf"|[0-9#*]{efz_sans_sel}\ufe0f?\u20e3{efz_sans_sel}"
        rf"|(?:{wb('Regional_Indicator')}{efz}){{2}}"
    )
    ah_letter = rf"(?:{wb('ALetter', 'Hebrew_Letter')}{efz})"
    hebrew = rf"(?:{wb('Hebrew_Letter')}{efz})"
    numeric = rf"(?:[{wb('Numeric')}[\p{{Block=Halfwidth_And_Fullwidth_Forms}}&&\p{{Nd}}]]{efz})"
    katakana = rf"(?:{wb('Katakana')}{efz})"
    mid_letter = rf"(?:{wb('MidLetter', 'MidNumLet', 'Single_Quote')}{efz})"
    mid_numeric = rf"(?:[{wb('MidNum', 'MidNumLet', 'Single_Quote')}{_NOW_MID_NUM}]{efz})"
    extend_num_let = rf"(?:{wb('ExtendNumLet')}{efz})"
    single_quote, double_quote = rf"(?:{wb('Single_Quote')}{efz})", rf"(?:{wb('Double_Quote')}{efz})"
    hangul = rf"(?:[\p{{Script=Hangul}}&&{wb('ALetter', 'Hebrew_Letter')}]{efz})"
    number = rf"(?:{numeric}(?:(?:{extend_num_let}*|{mid_numeric}){numeric})*)"
    segment = (
        rf"(?:{katakana}(?:{extend_num_let}*{katakana})*"
        rf"|(?:{hebrew}(?:{single_quote}|{double_quote}{hebrew})|{number}"
        rf"|{ah_letter}(?:(?:{extend_num_let}*|{mid_letter}){ah_letter})*)+)"
    )
    word = rf"{extend_num_let}*{segment}(?:{extend_num_let}+{segment})*{extend_num_let}*"
    south_east_asian = rf"(?:[\p{{Line_Break=Complex_Context}}{_NOW_COMPLEX_CONTEXT}]{efz})+"
    han, hiragana = rf"\p{{Script=Han}}{efz}", rf"\p{{Script=Hiragana}}{efz}"
    if not exact:
        # The number, hangul and katakana rules match nothing the word rule does not match at least as long, so
        # trying the word rule first finds the longest match unless a text holds one of the _AMBIGUOUS characters.
        rules = [word, emoji, south_east_asian, han, hiragana]
    else:
        number_rule = rf"{extend_num_let}*{number}{extend_num_let}*"
        rules = [emoji, number_rule, rf"(?:{hangul})+", rf"(?:{katakana})+", word, south_east_asian, han, hiragana]
    return "|".join(f"(?:{rule})" for rule in rules)


# On ASCII text the grammar reduces to runs of letters, digits and underscores (at least one letter or digit)
# joined by one ':', '.' or "'" between two letters, or one ',', ';', '.' or "'" between two digits.
_ASCII_TOKEN = re.compile(r"_*[A-Za-z0-9](?:[A-Za-z0-9_]|(?<=[A-Za-z])[:.'](?=[A-Za-z])|(?<=[0-9])[,;.'](?=[0-9]))*")


def _expand(ranges: str) -> set[str]:
    """Return the characters of a character-class body such as ``"#*0-9"`` (single characters and ranges)."""
    chars, i = set(), 0
    while i < len(ranges):
        if i + 2 < len(ranges) and ranges[i + 1] == "-":
            chars.update(map(chr, range(ord(ranges[i]), ord(ranges[i + 2]) + 1)))
            i += 3
        else:
            chars.add(ranges[i])
            i += 1
    return chars


@lru_cache(maxsize=1)
def _exact_pattern():
    """Return all of the grammar's rules, matched leftmost-longest as JFlex matches them."""
    regex = import_optional("regex", "webshop")
    return regex.compile(_grammar(exact=True), regex.V1 | regex.POSIX)


@lru_cache(maxsize=1)
def _fast_patterns():
    """Return the ordered pattern and the characters that make a text need the exact one."""
    regex = import_optional("regex", "webshop")
    fast = regex.compile(_grammar(exact=False), regex.V1)
    # Where the ordered pattern may pick a shorter match than JFlex: Hebrew (its quote rules), joiners and
    # keycaps (emoji sequences), and letters or digits that are also emoji characters.
    word_start = regex.compile(r"[\p{WB=ALetter}\p{WB=Hebrew_Letter}\p{WB=Numeric}\p{WB=Katakana}\p{WB=ExtendNumLet}]")
    emoji_chars = _expand(_EMOJI + _EXTENDED_PICTOGRAPHIC + _EMOJI_MODIFIER_BASE + _EMOJI_MODIFIER)
    emoji_letters = "".join(sorted(c for c in emoji_chars if not c.isascii() and word_start.match(c)))
    ambiguous = regex.compile(rf"[\p{{WB=Hebrew_Letter}}\u200d\u20e3{regex.escape(emoji_letters)}]", regex.V1)
    return fast, ambiguous


# A whitespace-delimited run holding a non-ASCII character (no token spans whitespace, see _JOINING_SPACE).
_NON_ASCII_RUN = re.compile(r"\S*[^\x00-\x7f]\S*")
#: The one white-space character inside words: U+202F (narrow no-break space) is WB=ExtendNumLet.
_JOINING_SPACE = "\u202f"


def tokenize(text: str) -> list[str]:
    """Return the tokens Lucene's ``StandardTokenizer`` emits for ``text``."""
    if text.isascii():
        return _tokens(_ASCII_TOKEN, text)
    fast, ambiguous = _fast_patterns()
    if _JOINING_SPACE in text:
        return _tokens(_exact_pattern() if ambiguous.search(text) else fast, text)
    tokens, pos = [], 0
    for run in _NON_ASCII_RUN.finditer(text):
        tokens += _tokens(_ASCII_TOKEN, text[pos : run.start()])
        part = run.group()
        tokens += _tokens(_exact_pattern() if ambiguous.search(part) else fast, part)
        pos = run.end()
    tokens += _tokens(_ASCII_TOKEN, text[pos:])
    return tokens


def _tokens(pattern, text: str) -> list[str]:
    tokens = pattern.findall(text)
    if not tokens or max(map(len, tokens)) <= MAX_TOKEN_LENGTH:
        return tokens
    tokens = []
    pos, end = 0, len(text)
    while pos < end:
        match = pattern.search(text, pos)
        if match is None:
            break
        start, stop = match.span()
        if stop - start > MAX_TOKEN_LENGTH:
            # The scanner sees at most MAX_TOKEN_LENGTH characters: the token is the longest match within them.
            stop = pattern.match(text, start, start + MAX_TOKEN_LENGTH).end()
        tokens.append(text[start:stop])
        pos = stop
    return tokens


def _lower(token: str) -> str:
    """Lower-case as Java's ``Character.toLowerCase`` does: code point by code point, without context."""
    if token.isascii():
        return token.lower()
    # Python maps U+0130 to two code points and a final sigma by context; Java maps each code point alone.
    return "".join("i" if c == "\u0130" else c.lower() for c in token)


_POSSESSIVE = ("'s", "'S", "\u2019s", "\u2019S", "\uff07s", "\uff07S")


def _stemmer():
    porter = import_optional("nltk.stem.porter", "webshop")
    # Lucene's PorterStemFilter ports Martin Porter's C reference, with its departures from the paper
    # ("bli" -> "ble", "logi" -> "log"); NLTK's MARTIN_EXTENSIONS mode is that version.
    return porter.PorterStemmer(mode=porter.PorterStemmer.MARTIN_EXTENSIONS)


class Analyzer:
    """Anserini's default English analyzer: tokenize, drop possessives, lower-case, drop stop words, stem.

    Example:
        >>> Analyzer()("The Men's X-Large shorts")
        ['men', 'x', 'larg', 'short']
    """

    #: Distinct whitespace-delimited words remembered (word -> terms); the memo is cleared past this size.
    MAX_CACHED = 1_000_000

    def __init__(self) -> None:
        """Create the stemmer."""
        self._stem = _stemmer().stem
        self._cache: dict[str, tuple[str, ...]] = {}

    def term(self, token: str) -> str:
        """Return the index term of one token (``""`` for a stop word)."""
        if token.endswith(_POSSESSIVE):
            token = token[:-2]
        token = _lower(token)
        return "" if token in STOP_WORDS else self._stem(token, to_lowercase=False)

    def _terms(self, text: str) -> tuple[str, ...]:
        return tuple(term for term in map(self.term, tokenize(text)) if term)

    def __call__(self, text: str) -> list[str]:
        """Return the index terms of ``text``."""
        if _JOINING_SPACE in text:
            return list(self._terms(text))
        # No token spans whitespace, so the text is analysed word by word, and catalog words repeat a lot.
        cache = self._cache
        if len(cache) > self.MAX_CACHED:
            cache.clear()
        terms: list[str] = []
        for word in text.split():
            cached = cache.get(word)
            if cached is None:
                cached = cache[word] = self._terms(word)
            terms += cached
        return terms
