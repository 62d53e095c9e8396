"""The search engine against pyserini/Anserini 0.22.1 (Lucene 9.5), the original's engine.

References (built with Lucene itself, independently of this code):
- ``data/lucene_top10_1k.json``: the top-10 ASINs of 738 queries over the 1k-product index.
- ``data/lucene_scores_1k.json``: the raw single-precision scores and order of the top 20 hits of 158 queries
  (every fifth query of the first file, and ten literal ones), from Lucene's ``IndexSearcher`` run as
  Anserini's ``SimpleSearcher`` runs it (``BagOfWordsQueryGenerator`` with ``DefaultEnglishAnalyzer``,
  ``BM25Similarity(0.9, 0.4)``, sorted by score then id) over an index pyserini 0.22.1 built from
  ``search_documents_1k.jsonl`` (``python -m pyserini.index.lucene --collection JsonCollection
  --generator DefaultLuceneDocumentGenerator --threads 1``); its ``about`` field says the same.
- The analyzer cases below: the tokens ``AnalyzerUtils.analyze(DefaultEnglishAnalyzer.newDefaultInstance(),
  text)`` returned for each text.
"""

import json
from pathlib import Path

import pytest

from agentgym.data import find
from agentgym.envs.webshop.analysis import Analyzer, tokenize
from agentgym.envs.webshop.search import SearchIndex, _byte4_to_int, _int_to_byte4, write_index

DATA = Path(__file__).with_name("data")


def _query_texts() -> dict[str, object]:
    return {
        "ins": json.loads(find("webshop/items_ins_v2_1000.json").read_text()),
        "human": json.loads(find("webshop/items_human_ins.1k_subset.json").read_text()),
        "human_goals": json.loads(find("webshop/human_goals.json").read_text()),
    }


def _query(source, data) -> str:
    kind, *key = source
    if kind == "literal":
        return key[0]
    if kind == "items_ins_v2_1000":
        return data["ins"][key[0]]["instruction"].lower()
    if kind == "items_human_ins_1k":
        return data["human"][key[0]][key[1]]["instruction"].lower()
    return data["human_goals"][key[0]].lower()


def test_indexed_text_is_the_reference_index_documents(catalog):
    reference = [json.loads(line) for line in find("webshop/search_documents_1k.jsonl").open()]
    assert list(catalog.documents()) == [(doc["id"], doc["contents"]) for doc in reference]


def test_first_results_page_is_lucenes_for_every_reference_query(index, data_present):
    data = _query_texts()
    reference = json.loads((DATA / "lucene_top10_1k.json").read_text())["queries"]
    assert len(reference) == 738
    differing = [e["source"] for e in reference if index.search(_query(e["source"], data))[:10] != e["top10"]]
    assert differing == []


def test_scores_are_lucenes_bit_for_bit(index, data_present):
    data = _query_texts()
    reference = json.loads((DATA / "lucene_scores_1k.json").read_text())["queries"]
    assert len(reference) == 158
    for entry in reference:
        expected = [tuple(hit) for hit in entry["hits"]]
        assert index.scored(_query(entry["source"], data), 20) == expected, entry["source"]


@pytest.mark.parametrize(
    ("text", "lucene"),
    [
        ("The Men's X-Large shorts, 6.76 fl oz", ["men", "x", "larg", "short", "6.76", "fl", "oz"]),
        ("fully assembled assembly", ["fulli", "assembl", "assembl"]),
        ("description:solid wood", ["description:solid", "wood"]),
        ("the of and", []),
        (
            "✔️ soft ❤ cotton ★★ 👍🏻 t-shirt 👨\u200d💼 🇺🇸 #️⃣ 1️⃣",
            ["✔️", "soft", "❤", "cotton", "★", "★", "👍🏻", "t", "shirt", "👨\u200d💼", "🇺🇸", "#️⃣", "1️⃣"],
        ),
        (
            "material：mdf comfort：bring 1⁄2 inch ❶package ¼ cup ﾟ",
            ["material：mdf", "comfort：br", "1⁄2", "inch", "packag", "cup"],
        ),
        ("ΣΟΦΑΣ İSTANBUL", ["σοφασ", "istanbul"]),
        ("women’s boots, kids＇S toys, it's", ["women", "boot", "kid", "toi"]),
        ("1,000.5 pack; 3.5mm x_ray __init__ a_1 ___", ["1,000.5", "pack", "3.5mm", "x_rai", "__init__", "a_1"]),
        (
            "日本語テキスト ひらがな 한국어 ไทยภาษา",
            ["日", "本", "語", "テキスト", "ひ", "ら", "が", "な", "한국어", "ไทยภาษา"],
        ),
        ("ab.cd e:f g'h 1;2 3,4 5.6 7'8 a..b a.-b", ["ab.cd", "e:f", "g'h", "1;2", "3,4", "5.6", "7'8", "b", "b"]),
        ("\u0600\u0601 1\ufe102 \u19da\u19da 1\U0001fbf02", ["1\ufe102", "\u19da\u19da", "1", "\U0001fbf0", "2"]),
        ("generously bli conditional logi agreed feed", ["gener", "bli", "condit", "logi", "agre", "feed"]),
    ],
)
def test_analyzer_is_anserinis_default_english_analyzer(text, lucene):
    assert Analyzer()(text) == lucene


def test_tokens_are_cut_at_255_characters_as_lucene_cuts_them():
    assert [len(t) for t in tokenize("a" * 300 + " b" + "1" * 260)] == [255, 45, 255, 6]
    assert Analyzer()("x" * 600) == ["x" * 255, "x" * 255, "x" * 90]


def test_length_norm_encoding_round_trips_like_lucene():
    assert [_byte4_to_int(_int_to_byte4(n)) for n in range(24)] == list(range(24))
    for n in (24, 25, 40, 100, 1000, 123456):
        decoded = _byte4_to_int(_int_to_byte4(n))
        assert decoded <= n < decoded * 1.2
    assert sorted(_int_to_byte4(n) for n in range(2000)) == [_int_to_byte4(n) for n in range(2000)]


def test_equal_scores_rank_by_id_not_by_indexing_order():
    index = SearchIndex.build([("B2", "red shoe"), ("A9", "red shoe"), ("C1", "red shoe"), ("A1", "blue")])
    assert index.search("red") == ["A9", "B2", "C1"]


def test_search_edge_cases(tmp_path):
    docs = [("A1", "red cotton dress"), ("A2", "blue denim jeans"), ("A3", "red red red"), ("A4", "the of")]
    index = SearchIndex.build(docs)
    assert index.search("") == []
    assert index.search("the and of") == []
    assert index.search("unknownword") == []
    assert index.search("red")[0] == "A3"
    assert index.search("<script>alert(1)</script> red") == ["A3", "A1"]
    assert index.search("x" * 100_000) == []
    assert index.search("red dress denim", k=2) == index.search("red dress denim")[:2]
    assert index.search("red dress denim", k=0) == index.search("red", k=-1) == []
    assert len(index.search("red dress denim")) == 3
    # A document without terms is not part of Lucene's statistics (docCount 3, not 4).
    assert index.doc_count == 3 and len(index) == 4
    chunked = SearchIndex.build(docs, chunk_tokens=1)
    assert chunked.scored("red dress denim") == index.scored("red dress denim")
    write_index(docs, tmp_path / "index")
    on_disk = SearchIndex(tmp_path / "index")
    assert on_disk.scored("red dress jeans") == index.scored("red dress jeans")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]


@pytest.mark.slow  # indexes 40,000 documents twice: about 30 s of CPU, minutes on a loaded machine
def test_spilled_and_merged_index_equals_one_chunk_index_at_mid_size(catalog, tmp_path):
    import random

    rng = random.Random(0)
    base = list(catalog.documents())
    words = [w for _, text in base for w in text.split()]
    docs = base + [
        (f"S{i:09d}", f"{text} {' '.join(rng.choices(words, k=5))}")
        for i, (_, text) in enumerate(rng.choices(base, k=39_000))
    ]
    write_index(docs, tmp_path / "one", chunk_tokens=10**9)
    write_index(docs, tmp_path / "many", chunk_tokens=50_000)  # dozens of chunks and merge ranges
    for name in ("docs.npy", "denoms.npy", "termmax.npy", "indptr.npy", "ids.npy", "tiebreak.npy"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "many" / name).read_bytes(), name
    one, many = SearchIndex(tmp_path / "one"), SearchIndex(tmp_path / "many")
    for _, text in rng.sample(base, 50):
        query = " ".join(text.split()[:12])
        assert many.scored(query) == one.scored(query)
