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
the per-posting ``1 + freq * normInverse``), plus a small SQLite vocabulary, so a process opens the index of
the 1.18M-product catalog in milliseconds and shares its pages with the other workers. It is written in one
streaming pass over the documents, with postings spilled to disk in chunks, so building it needs memory for
one chunk, the vocabulary and the per-document arrays only.
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
from typing import TYPE_CHECKING

import numpy as np

from agentgym.envs.webshop.analysis import Analyzer

if TYPE_CHECKING:
    from agentgym.envs.webshop.store import Catalog

K1 = 0.9
B = 0.4
TOP_N = 50
#: Bumped whenever the files of an index change meaning (old indexes are then rebuilt).
INDEX_VERSION = 2
_FLOAT = np.float32


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

    def __init__(self, folder: Path, chunk_postings: int) -> None:
        self.folder, self.chunk_postings = folder, chunk_postings
        self.analyzer = Analyzer()
        self.vocabulary: dict[str, int] = {}
        self.ids: list[str] = []
        self.lengths = array("i")
        self.chunks: list[Path] = []
        self._terms, self._docs, self._freqs = array("i"), array("i"), array("i")

    def add(self, doc_id: str, text: str) -> None:
        terms = self.analyzer(text)
        doc = len(self.ids)
        self.ids.append(doc_id)
        self.lengths.append(len(terms))
        vocabulary = self.vocabulary
        for term, count in Counter(terms).items():
            self._terms.append(vocabulary.setdefault(term, len(vocabulary)))
            self._docs.append(doc)
            self._freqs.append(count)
        if len(self._terms) >= self.chunk_postings:
            self._spill()

    def _spill(self) -> None:
        """Write the buffered postings, sorted by term (then document), as one chunk file."""
        terms = np.frombuffer(self._terms, dtype=np.int32)
        order = np.argsort(terms, kind="stable")
        path = self.folder / f"chunk{len(self.chunks)}.npz"
        np.savez(
            path,
            terms=terms[order],
            docs=np.frombuffer(self._docs, dtype=np.int32)[order],
            freqs=np.frombuffer(self._freqs, dtype=np.int32)[order],
        )
        self.chunks.append(path)
        del terms, order
        self._terms, self._docs, self._freqs = array("i"), array("i"), array("i")

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
        """Write docs.npy and denoms.npy term range by term range, reading each chunk's slice of the range."""
        total = int(indptr[-1])
        bounds = [0]
        while bounds[-1] < len(indptr) - 1:
            limit = indptr[bounds[-1]] + self.chunk_postings
            bounds.append(max(bounds[-1] + 1, int(np.searchsorted(indptr, limit, side="right")) - 1))
        with open(self.folder / "docs.npy", "wb") as docs_file, open(self.folder / "denoms.npy", "wb") as den_file:
            np.lib.format.write_array_header_1_0(docs_file, _header("<i4", total))
            np.lib.format.write_array_header_1_0(den_file, _header("<f4", total))
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
                (_FLOAT(1) + freqs * per_doc[docs]).astype("<f4").tofile(den_file)
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


def write_index(documents: Iterable[tuple[str, str]], folder: Path, chunk_postings: int = 8_000_000) -> None:
    """Index ``(id, text)`` documents into ``folder`` (written under a temporary name, then moved into place).

    Args:
        documents: in index order (the order only matters for Lucene's statistics, not for ties).
        folder: the index folder to create.
        chunk_postings: postings held in memory before they are spilled to disk.
    """
    folder = Path(folder)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".part"))
    try:
        writer = _Writer(tmp, max(chunk_postings, 1))
        for doc_id, text in documents:
            writer.add(doc_id, text)
        writer.finish()
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
        self._ids = np.load(self.folder / "ids.npy", mmap_mode=mode)
        self._tiebreak = np.load(self.folder / "tiebreak.npy", mmap_mode=mode)
        self._indptr = np.load(self.folder / "indptr.npy", mmap_mode=mode)
        self._docs = np.load(self.folder / "docs.npy", mmap_mode=mode)
        self._denoms = np.load(self.folder / "denoms.npy", mmap_mode=mode)
        db = sqlite3.connect(f"file:{self.folder / 'vocabulary.sqlite'}?mode=ro", uri=True, check_same_thread=False)
        if in_memory:
            self._vocabulary: dict[str, int] | None = dict(db.execute("SELECT term, id FROM terms"))
            db.close()
            self._db = None
        else:
            self._vocabulary, self._db = None, db
        self._analyzer = Analyzer()

    @classmethod
    def build(cls, documents: Iterable[tuple[str, str]], chunk_postings: int = 8_000_000) -> SearchIndex:
        """Index ``(id, text)`` pairs in memory (for small collections and tests)."""
        with tempfile.TemporaryDirectory() as tmp:
            write_index(documents, Path(tmp) / "index", chunk_postings)
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

    def scored(self, query: str, k: int = TOP_N) -> list[tuple[str, float]]:
        """Return the top ``k`` ``(id, score)`` pairs for ``query``: Lucene's single-precision scores and order."""
        docs, scores = self._score(query)
        if len(docs) > k:
            threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
            keep = scores >= threshold
            docs, scores = docs[keep], scores[keep]
        order = np.lexsort((self._tiebreak[docs], -scores))[:k]
        return [(str(self._ids[d]), float(s)) for d, s in zip(docs[order], scores[order], strict=True)]

    def search(self, query: str, k: int = TOP_N) -> list[str]:
        """Return the ids of the top ``k`` documents for ``query`` (only documents that match a term)."""
        return [doc_id for doc_id, _ in self.scored(query, k)]

    def _score(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the matching documents and their single-precision scores."""
        doc_parts, score_parts = [], []
        for term, boost in Counter(self._analyzer(query)).items():
            term_id = self._term_id(term)
            if term_id is None:
                continue
            lo, hi = int(self._indptr[term_id]), int(self._indptr[term_id + 1])
            weight = _FLOAT(boost) * idf(self.doc_count, hi - lo)
            doc_parts.append(self._docs[lo:hi])
            score_parts.append(weight - weight / self._denoms[lo:hi])
        if not doc_parts:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=_FLOAT)
        if len(doc_parts) == 1:
            return np.asarray(doc_parts[0]), score_parts[0]
        # A document's clause scores are summed in double precision (exact for these magnitudes), then rounded.
        docs = np.concatenate(doc_parts)
        weights = np.concatenate(score_parts).astype(np.float64)
        if len(docs) * 8 >= len(self._ids):
            summed = np.bincount(docs, weights=weights, minlength=len(self._ids))
            hits = np.flatnonzero(summed)
            return hits, summed[hits].astype(_FLOAT)
        hits, inverse = np.unique(docs, return_inverse=True)
        return hits, np.bincount(inverse, weights=weights).astype(_FLOAT)
