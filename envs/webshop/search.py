"""BM25 product search that ranks exactly as the original's pyserini/Anserini 0.22 (Lucene 9.5) does.

The original indexes one field (title, description, first bullet point and option text, lower-cased) with
Anserini's default English analyzer (:mod:`agentgym.envs.webshop.analysis`) and searches it with
``SimpleSearcher``: a bag-of-words query (one SHOULD clause per distinct term, boosted by its count),
Lucene's ``BM25Similarity(k1=0.9, b=0.4)``, top 50 sorted by score and then by document id (the ASIN). Lucene's
arithmetic is reproduced bit for bit: the document length is stored in one byte (``SmallFloat.intToByte4``),
each term scores ``weight - weight / (1 + freq * normInverse)`` in single precision with
``normInverse = 1 / (k1 * ((1 - b) + b * length / avgdl))`` from a 256-entry table and
``weight = boost * log(1 + (docCount - df + 0.5) / (df + 0.5))``, and a document's clause scores are summed
in double precision and rounded to single. (Anserini then prints each score rounded to four decimals; that
does not change the order.)

The index is a folder of plain arrays read through memory maps (postings grouped by term: document ids and
the per-posting ``1 + freq * normInverse``, and each term's largest such value), plus a small SQLite
vocabulary, so a process opens the index of the 1.18M-product catalog in milliseconds and shares its pages
with the other workers. It is written in one streaming pass over the documents, with postings spilled to disk
in chunks, so building it needs memory for one chunk, the vocabulary and the per-document arrays only.

Large queries are answered with MaxScore dynamic pruning (Turtle and Flood, 1995; Lucene's own disjunctions
prune the same way), exact for the top ``k``: a lower bound ``theta`` of the ``k``-th best score comes from
scoring a few hundred likely documents exactly; the clauses whose largest possible scores sum below
``theta`` cannot put a document into the top ``k`` alone, so only documents of the other clauses are
candidates, and those are dropped, clause by clause, as soon as their score so far plus the largest scores
of the clauses still to add falls below ``theta``. Bounds are compared with one single-precision step and a
margin below ``theta`` (see :meth:`SearchIndex._prune`), so a document that could tie or round up to the
``k``-th score is always kept, and the survivors are scored with the very arithmetic of the exhaustive scorer.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import sqlite3
import tempfile
from array import array
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from agentgym.envs.webshop.analysis import Analyzer

if TYPE_CHECKING:
    from agentgym.envs.webshop.store import Catalog

K1 = 0.9
B = 0.4
TOP_N = 50
#: Bumped whenever the files of an index change meaning (old indexes are then rebuilt).
INDEX_VERSION = 3
_FLOAT = np.float32
#: Queries with fewer postings than this are scored exhaustively (pruning would not pay for itself).
PRUNE_MIN_POSTINGS = 80_000
#: The threshold is seeded from the highest-scoring clauses' postings, up to this many of them...
_SEED_POSTINGS = 20_000
#: ... of which this many documents (the best by those clauses) are scored exactly.
_SEED_DOCS = 256


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
    """Lucene's ``SmallFloat.byte4ToInt``: the length a norm byte stands for."""
    free = 24
    if b < free:
        return b
    b -= free
    bits, shift = b & 0x07, (b >> 3) - 1
    return free + (bits if shift == -1 else (bits | 0x08) << shift)


_LENGTH_TABLE = np.array([_byte4_to_int(b) for b in range(256)], dtype=_FLOAT)
# intToByte4 over all lengths up to 2**16 (longer documents are encoded one by one).
_NORM_OF_LENGTH = np.array([_int_to_byte4(n) for n in range(1 << 16)], dtype=np.uint8)


def _norm_bytes(lengths: np.ndarray) -> np.ndarray:
    norms = _NORM_OF_LENGTH[np.minimum(lengths, len(_NORM_OF_LENGTH) - 1)]
    for i in np.flatnonzero(lengths >= len(_NORM_OF_LENGTH)):
        norms[i] = _int_to_byte4(int(lengths[i]))
    return norms


def norm_inverse_table(avgdl: float) -> np.ndarray:
    """Lucene's per-norm-byte cache ``1 / (k1 * ((1 - b) + b * length / avgdl))``, in single precision."""
    k1, b, avg = _FLOAT(K1), _FLOAT(B), _FLOAT(avgdl)
    return _FLOAT(1) / (k1 * ((_FLOAT(1) - b) + b * _LENGTH_TABLE / avg))


def idf(doc_count: int, df: int) -> np.float32:
    """Lucene's BM25 idf: ``log(1 + (docCount - df + 0.5) / (df + 0.5))`` in double, stored as float."""
    return _FLOAT(math.log(1 + (doc_count - df + 0.5) / (df + 0.5)))


class _Writer:
    """Stream ``(id, text)`` documents into an index folder (see :func:`write_index`)."""

    def __init__(self, folder: Path, chunk_tokens: int) -> None:
        self.folder, self.chunk_tokens = folder, chunk_tokens
        self.analyzer = Analyzer()
        self.vocabulary: dict[str, int] = {}
        self.ids: list[str] = []
        self.lengths = array("i")
        self.chunks: list[Path] = []
        self._tokens = array("i")  # the term id of every token of the documents since the last spill
        self._first_doc = 0  # the first of those documents

    def add(self, doc_id: str, text: str) -> None:
        terms = self.analyzer(text)
        self.ids.append(doc_id)
        self.lengths.append(len(terms))
        vocabulary = self.vocabulary
        self._tokens.extend([vocabulary.setdefault(term, len(vocabulary)) for term in terms])
        if len(self._tokens) >= self.chunk_tokens:
            self._spill()

    def _spill(self) -> None:
        """Count the buffered tokens into postings, sorted by term (then document), and write them as one chunk."""
        tokens = np.frombuffer(self._tokens, dtype=np.int32)
        lengths = np.frombuffer(self.lengths, dtype=np.int32)[self._first_doc :]
        docs = np.repeat(np.arange(self._first_doc, len(self.ids), dtype=np.int32), lengths)
        order = np.argsort(tokens, kind="stable")  # documents stay in order within a term
        tokens, docs = tokens[order], docs[order]
        del order
        starts = np.flatnonzero((np.diff(tokens, prepend=-1) != 0) | (np.diff(docs, prepend=-1) != 0))
        freqs = np.diff(starts, append=len(tokens)).astype(np.int32)
        path = self.folder / f"chunk{len(self.chunks)}.npz"
        np.savez(path, terms=tokens[starts], docs=docs[starts], freqs=freqs)
        self.chunks.append(path)
        self._tokens, self._first_doc = array("i"), len(self.ids)

    def finish(self) -> None:
        """Merge the chunks into term-grouped postings and write the index files."""
        self._spill()
        lengths = np.frombuffer(self.lengths, dtype=np.int32)
        # Lucene's collection statistics count only documents that have the field (at least one term).
        doc_count = int(np.count_nonzero(lengths))
        avgdl = float(lengths.sum(dtype=np.int64)) / doc_count if doc_count else 1.0
        per_doc = norm_inverse_table(avgdl)[_norm_bytes(lengths)]
        num_terms = len(self.vocabulary)
        df = np.zeros(num_terms, dtype=np.int64)
        for path in self.chunks:
            with np.load(path) as chunk:
                df += np.bincount(chunk["terms"], minlength=num_terms)
        indptr = np.zeros(num_terms + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        self._merge(indptr, per_doc)
        ids = np.array(self.ids, dtype=str)
        np.save(self.folder / "ids.npy", ids)
        np.save(self.folder / "tiebreak.npy", np.argsort(np.argsort(ids, kind="stable")).astype(np.int32))
        np.save(self.folder / "indptr.npy", indptr)
        self._write_vocabulary()
        meta = {"version": INDEX_VERSION, "k1": K1, "b": B, "doc_count": doc_count, "avgdl": avgdl}
        (self.folder / "meta.json").write_text(json.dumps(meta))

    def _merge(self, indptr: np.ndarray, per_doc: np.ndarray) -> None:
        """Write docs.npy, denoms.npy and termmax.npy term range by term range, reading each chunk's slice."""
        total, num_terms = int(indptr[-1]), len(indptr) - 1
        bounds = [0]
        while bounds[-1] < num_terms:
            limit = indptr[bounds[-1]] + self.chunk_tokens
            bounds.append(max(bounds[-1] + 1, int(np.searchsorted(indptr, limit, side="right")) - 1))
        folder = self.folder
        with (
            open(folder / "docs.npy", "wb") as docs_file,
            open(folder / "denoms.npy", "wb") as den_file,
            open(folder / "termmax.npy", "wb") as max_file,
        ):
            np.lib.format.write_array_header_1_0(docs_file, _header("<i4", total))
            np.lib.format.write_array_header_1_0(den_file, _header("<f4", total))
            np.lib.format.write_array_header_1_0(max_file, _header("<f4", num_terms))
            for lo, hi in itertools.pairwise(bounds):
                parts = []
                for path in self.chunks:
                    with np.load(path) as chunk:
                        terms = chunk["terms"]
                        a, b = np.searchsorted(terms, [lo, hi])
                        parts.append((terms[a:b], chunk["docs"][a:b], chunk["freqs"][a:b]))
                terms = np.concatenate([p[0] for p in parts])
                order = np.argsort(terms, kind="stable")  # chunks are in document order: stays sorted by doc
                docs = np.concatenate([p[1] for p in parts])[order]
                freqs = np.concatenate([p[2] for p in parts])[order].astype(_FLOAT)
                docs.astype("<i4").tofile(docs_file)
                # Lucene's 1f + freq * normInverse, rounded to single precision at each step.
                denoms = (_FLOAT(1) + freqs * per_doc[docs]).astype("<f4")
                denoms.tofile(den_file)
                # Every term has a posting, so each term's run is non-empty.
                np.maximum.reduceat(denoms, indptr[lo:hi] - indptr[lo]).astype("<f4").tofile(max_file)
        for path in self.chunks:
            path.unlink()

    def _write_vocabulary(self) -> None:
        db = sqlite3.connect(self.folder / "vocabulary.sqlite")
        db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE terms (term TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID;"
        )
        db.executemany("INSERT INTO terms VALUES (?, ?)", self.vocabulary.items())
        db.commit()
        db.close()


def _header(descr: str, n: int) -> dict:
    return {"descr": descr, "fortran_order": False, "shape": (n,)}


def write_index(documents: Iterable[tuple[str, str]], folder: Path, chunk_tokens: int = 8_000_000) -> None:
    """Index ``(id, text)`` documents into ``folder`` (written under a temporary name, then moved into place).

    Args:
        documents: in index order (the order only matters for Lucene's statistics, not for ties).
        folder: the index folder to create.
        chunk_tokens: tokens held in memory before they are counted into postings and spilled to disk (also
            the postings merged at a time).
    """
    folder = Path(folder)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".part"))
    try:
        writer = _Writer(tmp, max(chunk_tokens, 1))
        for doc_id, text in documents:
            writer.add(doc_id, text)
        writer.finish()
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _Clause(NamedTuple):
    """One query term: its weight (``boost * idf``), its postings ``[lo, hi)`` and its largest possible score."""

    weight: np.float32
    lo: int
    hi: int
    bound: float


class SearchIndex:
    """A BM25 index over ``(id, text)`` documents that scores and ranks as Lucene does.

    Example:
        >>> index = SearchIndex.build([("A1", "red cotton dress"), ("A2", "blue denim jeans")])
        >>> index.search("red dress")
        ['A1']
    """

    def __init__(self, folder: Path, *, in_memory: bool = False) -> None:
        """Open an index folder :func:`write_index` wrote (memory-mapped unless ``in_memory``)."""
        self.folder = Path(folder)
        meta = json.loads((self.folder / "meta.json").read_text())
        if meta.get("version") != INDEX_VERSION:
            raise ValueError(f"{self.folder} holds a search index of another version; delete it to rebuild")
        self.doc_count, self.avgdl = int(meta["doc_count"]), float(meta["avgdl"])
        mode = None if in_memory else "r"

        def load(name: str) -> np.ndarray:  # a plain view of the memory map: slicing it costs no wrapper object
            return np.asarray(np.load(self.folder / f"{name}.npy", mmap_mode=mode))

        self._ids, self._tiebreak, self._indptr = load("ids"), load("tiebreak"), load("indptr")
        self._docs, self._denoms, self._term_max = load("docs"), load("denoms"), load("termmax")
        db = sqlite3.connect(f"file:{self.folder / 'vocabulary.sqlite'}?mode=ro", uri=True, check_same_thread=False)
        if in_memory:
            self._vocabulary: dict[str, int] | None = dict(db.execute("SELECT term, id FROM terms"))
            db.close()
            self._db = None
        else:
            self._vocabulary, self._db = None, db
        self._analyzer = Analyzer()

    @classmethod
    def build(cls, documents: Iterable[tuple[str, str]], chunk_tokens: int = 8_000_000) -> SearchIndex:
        """Index ``(id, text)`` pairs in memory (for small collections and tests)."""
        with tempfile.TemporaryDirectory() as tmp:
            write_index(documents, Path(tmp) / "index", chunk_tokens)
            return cls(Path(tmp) / "index", in_memory=True)

    @classmethod
    def for_catalog(cls, catalog: Catalog) -> SearchIndex:
        """Return the index of a catalog store, built once beside it and memory-mapped."""
        from agentgym.envs.webshop.store import build_lock

        folder = catalog.path.with_suffix(f".bm25v{INDEX_VERSION}")
        with build_lock(folder):
            if not folder.exists():
                write_index(catalog.documents(), folder)
        return cls(folder)

    def __len__(self) -> int:
        """Return the number of documents."""
        return len(self._ids)

    def _term_id(self, term: str) -> int | None:
        if self._vocabulary is not None:
            return self._vocabulary.get(term)
        row = self._db.execute("SELECT id FROM terms WHERE term = ?", (term,)).fetchone()
        return row[0] if row else None

    def _clauses(self, query: str) -> list[_Clause]:
        """Return the query's clauses (one per distinct indexed term, boosted by its count), in query order."""
        clauses = []
        for term, boost in Counter(self._analyzer(query)).items():
            term_id = self._term_id(term)
            if term_id is None:
                continue
            lo, hi = int(self._indptr[term_id]), int(self._indptr[term_id + 1])
            weight = _FLOAT(boost) * idf(self.doc_count, hi - lo)
            clauses.append(_Clause(weight, lo, hi, float(weight - weight / self._term_max[term_id])))
        return clauses

    def scored(self, query: str, k: int = TOP_N, *, exhaustive: bool = False) -> list[tuple[str, float]]:
        """Return the top ``k`` ``(id, score)`` pairs for ``query``: Lucene's single-precision scores and order.

        ``exhaustive`` scores every matching document instead of pruning (same result, slower on large indexes).
        """
        if k < 1:
            return []
        clauses = self._clauses(query)
        found = None if exhaustive else self._prune(clauses, k)
        docs, scores = found if found is not None else self._score(clauses)
        if len(docs) > k:
            threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
            keep = scores >= threshold
            docs, scores = docs[keep], scores[keep]
        order = np.lexsort((self._tiebreak[docs], -scores))[:k]
        return [(str(self._ids[d]), float(s)) for d, s in zip(docs[order], scores[order], strict=True)]

    def search(self, query: str, k: int = TOP_N) -> list[str]:
        """Return the ids of the top ``k`` documents for ``query`` (only documents that match a term)."""
        return [doc_id for doc_id, _ in self.scored(query, k)]

    def _contributions(self, clause: _Clause) -> np.ndarray:
        """Return the clause's score for each of its postings (Lucene's single-precision arithmetic)."""
        return clause.weight - clause.weight / self._denoms[clause.lo : clause.hi]

    def _score(self, clauses: list[_Clause]) -> tuple[np.ndarray, np.ndarray]:
        """Return every matching document and its single-precision score (the exhaustive scorer)."""
        if not clauses:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=_FLOAT)
        if len(clauses) == 1:
            return self._docs[clauses[0].lo : clauses[0].hi], self._contributions(clauses[0])
        # A document's clause scores are summed in double precision in query order, then rounded.
        docs = np.concatenate([self._docs[c.lo : c.hi] for c in clauses])
        weights = np.concatenate([self._contributions(c) for c in clauses]).astype(np.float64)
        if len(docs) * 8 >= len(self._ids):
            summed = np.bincount(docs, weights=weights, minlength=len(self._ids))
            hits = np.flatnonzero(summed)
            return hits, summed[hits].astype(_FLOAT)
        hits, inverse = np.unique(docs, return_inverse=True)
        return hits, np.bincount(inverse, weights=weights).astype(_FLOAT)

    def _lookup(self, clause: _Clause, docs: np.ndarray) -> np.ndarray:
        """Return the clause's score for each of the sorted ``docs`` (0 where the document lacks the term)."""
        postings = self._docs[clause.lo : clause.hi]
        at = np.minimum(np.searchsorted(postings, docs), len(postings) - 1)
        hit = postings[at] == docs
        scores = np.zeros(len(docs), dtype=_FLOAT)
        scores[hit] = clause.weight - clause.weight / self._denoms[clause.lo : clause.hi][at[hit]]
        return scores

    def _exact(self, clauses: list[_Clause], docs: np.ndarray) -> np.ndarray:
        """Return the scores of the sorted ``docs`` exactly as :meth:`_score` computes them (same order of sums)."""
        summed = np.zeros(len(docs))
        for clause in clauses:
            summed += self._lookup(clause, docs)
        return summed.astype(_FLOAT)

    def _accumulate(self, clauses: list[_Clause]) -> tuple[np.ndarray, np.ndarray]:
        """Return the sorted documents of ``clauses`` and their partial scores (double, any order of sums)."""
        if len(clauses) == 1:
            return self._docs[clauses[0].lo : clauses[0].hi], self._contributions(clauses[0]).astype(np.float64)
        docs = np.concatenate([self._docs[c.lo : c.hi] for c in clauses])
        order = np.argsort(docs, kind="stable")  # merges the clauses' sorted runs
        docs = docs[order]
        weights = np.concatenate([self._contributions(c) for c in clauses])[order]
        starts = np.flatnonzero(docs[1:] != docs[:-1]) + 1
        starts = np.concatenate([[0], starts]) if len(docs) else starts
        return docs[starts], np.add.reduceat(weights, starts, dtype=np.float64)

    def _threshold(self, clauses: list[_Clause], k: int) -> float | None:
        """Return a lower bound of the ``k``-th best score: the ``k``-th best of a few documents scored exactly."""
        seeds, size = [], 0
        for clause in sorted(clauses, key=lambda c: -c.bound):
            if seeds and size + clause.hi - clause.lo > _SEED_POSTINGS:
                break
            seeds.append(clause)
            size += clause.hi - clause.lo
        docs, partial = self._accumulate(seeds)
        return self._best_of(clauses, docs, partial, k)

    def _best_of(self, clauses: list[_Clause], docs: np.ndarray, partial: np.ndarray, k: int) -> float | None:
        """Return the ``k``-th best exact score among the sorted ``docs`` with the highest ``partial`` scores."""
        if len(docs) < k:
            return None
        many = max(_SEED_DOCS, 4 * k)
        if len(docs) > many:
            least = np.partition(partial, len(docs) - many)[len(docs) - many]
            above = np.flatnonzero(partial > least)
            tied = np.flatnonzero(partial == least)[: many - len(above)]
            docs = docs[np.sort(np.concatenate([above, tied]))]
        scores = self._exact(clauses, docs)
        return float(np.partition(scores, len(scores) - k)[len(scores) - k])

    def _prune(self, clauses: list[_Clause], k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Return every document that can rank in the top ``k`` with its exact score (``None``: not worth it).

        Safety: ``theta`` is never above the ``k``-th best single-precision score (it is the score of ``k`` real
        documents, or a number below such scores), so a document whose score is below it cannot rank in the top
        ``k``, whatever its id. A bound in double precision that is below the single-precision number just under
        ``theta`` by more than any rounding of a sum of these magnitudes (``margin``) proves that: its
        document's score rounds to at most that number.
        """
        if len(clauses) < 2 or sum(c.hi - c.lo for c in clauses) < PRUNE_MIN_POSTINGS:
            return None
        theta = self._threshold(clauses, k)
        if theta is None or theta <= 0:
            return None
        margin = 1e-9 * (1 + sum(c.bound for c in clauses))

        def below(theta: float) -> float:
            return float(np.nextafter(_FLOAT(theta), _FLOAT(-np.inf))) - margin

        by_bound = sorted(clauses, key=lambda c: c.bound)
        optional, rest = [], 0.0  # clauses whose bounds sum below the limit: not enough on their own
        for clause in by_bound:
            if rest + clause.bound >= below(theta):
                break
            optional.append(clause)
            rest += clause.bound
        docs, partial = self._accumulate(by_bound[len(optional) :])
        # The best documents of the essential clauses give a better theta (often the final one).
        theta = max(theta, self._best_of(clauses, docs, partial, k) or theta)
        keep = partial + rest >= below(theta)
        docs, partial = docs[keep], partial[keep]
        candidate = np.zeros(len(self._ids), dtype=bool)
        candidate[docs] = True
        while optional and len(docs):
            clause = optional.pop()
            rest = sum(c.bound for c in optional)
            postings = self._docs[clause.lo : clause.hi]
            if len(docs) * 16 < len(postings):  # few candidates: binary searches beat a scan of the postings
                partial += self._lookup(clause, docs)
            else:
                at = np.flatnonzero(candidate[postings])
                scores = clause.weight - clause.weight / self._denoms[clause.lo : clause.hi][at]
                partial[np.searchsorted(docs, postings[at])] += scores
            keep = partial + rest >= below(theta)
            candidate[docs[~keep]] = False
            docs, partial = docs[keep], partial[keep]
        if len(docs) > k:
            # Complete sums now, in another order than the exact one: less the margin, rounded down to single
            # precision, the k-th best is a score that k documents reach.
            kth = float(np.partition(partial, len(docs) - k)[len(docs) - k]) - margin
            rounded = _FLOAT(kth)
            theta = max(theta, float(rounded if rounded <= kth else np.nextafter(rounded, _FLOAT(-np.inf))))
            keep = partial >= below(theta)
            docs = docs[keep]
        return docs, self._exact(clauses, docs)
