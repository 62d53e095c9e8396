"""BM25 product search with the original's settings, scored the way Lucene scores.

The original searches one analysed field (title, description, first bullet point and option text,
lower-cased) with pyserini/Lucene: BM25 with k1=0.9 and b=0.4, Lucene's English analysis (standard
tokenizer, possessive removal, lower-casing, the 33 English stop words, Porter stemming), top 50 hits. This
module does the same in numpy, including the two details that decide ties and near-ties: Lucene stores each
document's length in one byte (``SmallFloat.intToByte4``: exact below 24 tokens, then four significant bits),
and scores in single precision; Anserini's searcher then rounds scores to four decimals and ranks equal
scores by document id.

The index (a term -> postings CSR matrix plus the per-document length bytes) is saved beside the catalog
store, so worker processes load it instead of re-tokenising the catalog.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from agentgym.error import import_optional

if TYPE_CHECKING:
    from agentgym.envs.webshop.store import Catalog

K1 = 0.9
B = 0.4
TOP_N = 50

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

# Unicode word segmentation as Lucene's StandardTokenizer applies it to this text: runs of letters/digits,
# kept together across ':' '.' and apostrophes between letters, and ',' '.' ';' apostrophes between digits.
_WORD = r"[^\W_]+(?:_+[^\W_]+)*"
_TOKEN = re.compile(
    rf"{_WORD}(?:(?<=[^\W\d_])[:.'’·](?=[^\W\d_]){_WORD}|(?<=\d)[,.;'’](?=\d){_WORD})*",
)
_POSSESSIVE = re.compile(r"['’][sS]$")


def _stemmer():
    porter = import_optional("nltk.stem.porter", "webshop")
    # Lucene's PorterStemFilter ports Martin Porter's C reference, with its departures from the paper
    # ("bli" -> "ble", "logi" -> "log"); NLTK's MARTIN_EXTENSIONS mode is that version.
    return porter.PorterStemmer(mode=porter.PorterStemmer.MARTIN_EXTENSIONS)


class Analyzer:
    """Lucene's English analysis chain: tokenize, drop possessives, lower-case, drop stop words, stem."""

    #: Distinct raw tokens remembered (token -> term); the memo is cleared when it grows past this.
    MAX_CACHED = 2_000_000

    def __init__(self) -> None:
        """Create the stemmer (Porter's C reference algorithm, as Lucene's PorterStemFilter)."""
        self._stem = _stemmer().stem
        self._cache: dict[str, str] = {}

    def term(self, token: str) -> str:
        """Return the index term of one token (``""`` for a stop word)."""
        token = _POSSESSIVE.sub("", token).lower()
        return "" if not token or token in STOP_WORDS else self._stem(token)

    def __call__(self, text: str) -> list[str]:
        """Return the index terms of ``text``."""
        cache = self._cache
        if len(cache) > self.MAX_CACHED:
            cache.clear()
        terms = []
        for token in _TOKEN.findall(text):
            term = cache.get(token)
            if term is None:
                term = cache[token] = self.term(token)
            if term:
                terms.append(term)
        return terms


def _postings(rows: list[int], cols: list[int], counts: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.array(rows, np.int64), np.array(cols, np.int32), np.array(counts, np.float32)


def _int_to_byte4(i: int) -> int:
    """Lucene's ``SmallFloat.intToByte4``: a document length in one byte."""
    free = 24  # 255 - longToInt4(Integer.MAX_VALUE)
    if i < free:
        return i
    i -= free
    bits = i.bit_length()
    if bits < 4:
        return free + i
    shift = bits - 4
    return free + (((i >> shift) & 0x07) | ((shift + 1) << 3))


def _byte4_to_int(b: int) -> int:
    free = 24
    if b < free:
        return b
    b -= free
    bits, shift = b & 0x07, (b >> 3) - 1
    return free + (bits if shift == -1 else (bits | 0x08) << shift)


_LENGTH_TABLE = np.array([_byte4_to_int(b) for b in range(256)], dtype=np.float32)


class SearchIndex:
    """A BM25 index over ``(asin, text)`` documents.

    Example:
        >>> index = SearchIndex.build([("A1", "red cotton dress"), ("A2", "blue denim jeans")])
        >>> index.search("red dress")
        ['A1']
    """

    def __init__(
        self, asins: list[str], vocabulary: dict[str, int], indptr: np.ndarray, docs: np.ndarray,
        freqs: np.ndarray, norms: np.ndarray, avgdl: float,
    ) -> None:  # fmt: skip
        """Wrap built arrays (use :meth:`build` or :meth:`load`)."""
        self.asins = asins
        self.vocabulary = vocabulary
        self._indptr, self._docs, self._freqs, self._norms, self._avgdl = indptr, docs, freqs, norms, avgdl
        self._analyzer = Analyzer()
        avgdl32 = np.float32(avgdl)
        # Lucene's per-length-byte cache: 1 / (k1 * ((1 - b) + b * length / avgdl)).
        table = np.float32(1.0) / (np.float32(K1) * ((np.float32(1 - B)) + np.float32(B) * _LENGTH_TABLE / avgdl32))
        # freq * normInverse per posting: the same single-precision product Lucene forms at query time.
        self._tf_norm = freqs * table[norms][docs]
        self._num_docs = len(asins)

    @classmethod
    def build(cls, documents: Iterable[tuple[str, str]], chunk: int = 20_000) -> SearchIndex:
        """Index ``(asin, text)`` pairs in order (postings gathered in compact chunks, for large catalogs)."""
        analyzer = Analyzer()
        asins: list[str] = []
        vocabulary: dict[str, int] = {}
        lengths: list[int] = []
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        for doc_id, (asin, text) in enumerate(documents):
            asins.append(asin)
            terms = analyzer(text)
            lengths.append(len(terms))
            for term, count in Counter(terms).items():
                rows.append(vocabulary.setdefault(term, len(vocabulary)))
                cols.append(doc_id)
                counts.append(count)
            if len(rows) >= chunk * 64:
                parts.append(_postings(rows, cols, counts))
                rows, cols, counts = [], [], []
        parts.append(_postings(rows, cols, counts))
        term_ids = np.concatenate([p[0] for p in parts])
        docs = np.concatenate([p[1] for p in parts])
        freqs = np.concatenate([p[2] for p in parts])
        del parts
        # Postings are appended in document order, so a stable sort by term keeps each list sorted by doc.
        order = np.argsort(term_ids, kind="stable")
        indptr = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_ids, minlength=len(vocabulary)), out=indptr[1:])
        norms = np.array([_int_to_byte4(n) for n in lengths], dtype=np.uint8)
        avgdl = sum(lengths) / max(len(lengths), 1)
        return cls(asins, vocabulary, indptr, docs[order], freqs[order], norms, avgdl)

    def save(self, path: Path) -> None:
        """Write the index to ``path`` atomically (an uncompressed ``.npz`` file of plain arrays)."""
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        tmp = Path(f"{path}.{os.getpid()}.part.npz")
        np.savez(
            tmp,
            asins=np.array(self.asins, dtype=str),
            terms=np.array(terms, dtype=str),
            indptr=self._indptr,
            docs=self._docs,
            freqs=self._freqs,
            norms=self._norms,
            avgdl=np.array([self._avgdl]),
        )
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> SearchIndex:
        """Read an index :meth:`save` wrote."""
        with np.load(path, allow_pickle=False) as data:
            terms = data["terms"].tolist()
            return cls(
                data["asins"].tolist(), {t: i for i, t in enumerate(terms)}, data["indptr"], data["docs"],
                data["freqs"], data["norms"], float(data["avgdl"][0]),
            )  # fmt: skip

    @classmethod
    def for_catalog(cls, catalog: Catalog) -> SearchIndex:
        """Return the index of a catalog store, built once and saved beside it."""
        from agentgym.envs.webshop.store import build_lock

        path = catalog.path.with_suffix(".bm25.npz")
        with build_lock(path):
            if not path.exists():
                cls.build(catalog.documents()).save(path)
        return cls.load(path)

    def search(self, query: str, k: int = TOP_N) -> list[str]:
        """Return the ASINs of the top ``k`` documents for ``query`` (only documents that match a term)."""
        counts = Counter(self._analyzer(query))
        if not counts or not self._num_docs:
            return []
        doc_parts, score_parts = [], []
        for term, boost in counts.items():
            term_id = self.vocabulary.get(term)
            if term_id is None:
                continue
            lo, hi = self._indptr[term_id], self._indptr[term_id + 1]
            docs = self._docs[lo:hi]
            df = hi - lo
            idf = np.float32(math.log(1 + (self._num_docs - df + 0.5) / (df + 0.5)))
            weight = np.float32(boost) * idf
            doc_parts.append(docs)
            score_parts.append(weight - weight / (np.float32(1) + self._tf_norm[lo:hi]))
        if not doc_parts:
            return []
        # Sum the matching documents' term scores in double precision, then round to float as Lucene does:
        # over a dense array when the postings are long, else over the matching documents only.
        docs = np.concatenate(doc_parts)
        weights = np.concatenate(score_parts).astype(np.float64)
        if len(doc_parts) == 1:
            hits, summed = docs, weights
        elif len(docs) * 16 >= self._num_docs:
            dense = np.bincount(docs, weights=weights, minlength=self._num_docs)
            hits = np.flatnonzero(dense)
            summed = dense[hits]
        else:
            hits, inverse = np.unique(docs, return_inverse=True)
            summed = np.bincount(inverse, weights=weights)
        # Anserini's searcher rounds scores to four decimals and breaks ties by document id (the ASIN).
        rounded = np.round(summed.astype(np.float32).astype(np.float64), 4)
        keep = rounded > 0
        hits, rounded = hits[keep], rounded[keep]
        if len(hits) > k:
            threshold = -np.partition(-rounded, k - 1)[k - 1]
            keep = rounded >= threshold
            hits, rounded = hits[keep], rounded[keep]
        ids = [self.asins[i] for i in hits]
        ranked = sorted(range(len(hits)), key=lambda j: (-rounded[j], ids[j]))
        return [ids[j] for j in ranked[:k]]
