import json
from pathlib import Path

import numpy as np

from agentgym.data import find
from agentgym.envs.webshop.search import Analyzer, SearchIndex, _byte4_to_int, _int_to_byte4

REFERENCE = Path(__file__).with_name("data") / "lucene_top10_1k.json"


def _query(source, data):
    kind, *key = source
    if kind == "literal":
        return key[0]
    if kind == "items_ins_v2_1000":
        return data["ins"][key[0]]["instruction"]
    if kind == "items_human_ins_1k":
        return data["human"][key[0]][key[1]]["instruction"]
    return data["human_goals"][key[0]]


def test_top10_overlap_with_lucene(index, data_present):
    data = {
        "ins": json.loads(find("webshop/items_ins_v2_1000.json").read_text()),
        "human": json.loads(find("webshop/items_human_ins.1k_subset.json").read_text()),
        "human_goals": json.loads(find("webshop/human_goals.json").read_text()),
    }
    reference = json.loads(REFERENCE.read_text())["queries"]
    overlaps, top1 = [], []
    for entry in reference:
        mine = index.search(_query(entry["source"], data).lower())[:10]
        lucene = entry["top10"]
        if not lucene:
            assert mine == []
            continue
        overlaps.append(len(set(mine) & set(lucene)) / len(lucene))
        top1.append(mine[0] == lucene[0])
    assert len(overlaps) > 700
    assert np.mean(overlaps) >= 0.99
    assert np.mean(top1) >= 0.99


def test_analyzer_follows_lucenes_english_chain():
    analyzer = Analyzer()
    assert analyzer("The Men's X-Large shorts, 6.76 fl oz") == [
        "men",
        "x",
        "larg",
        "short",
        "6.76",
        "fl",
        "oz",
    ]
    assert analyzer("fully assembled assembly") == ["fulli", "assembl", "assembl"]
    assert analyzer("description:solid wood") == ["description:solid", "wood"]
    assert analyzer("the of and") == []


def test_length_norm_encoding_round_trips_like_lucene():
    assert [_byte4_to_int(_int_to_byte4(n)) for n in range(24)] == list(range(24))
    for n in (24, 25, 40, 100, 1000, 123456):
        decoded = _byte4_to_int(_int_to_byte4(n))
        assert decoded <= n < decoded * 1.2
    assert sorted(_int_to_byte4(n) for n in range(2000)) == [_int_to_byte4(n) for n in range(2000)]


def test_search_edge_cases(tmp_path):
    index = SearchIndex.build([("A1", "red cotton dress"), ("A2", "blue denim jeans"), ("A3", "red red red")])
    assert index.search("") == []
    assert index.search("the and of") == []
    assert index.search("unknownword") == []
    assert index.search("red")[0] == "A3"
    assert index.search("<script>alert(1)</script> red") == ["A3", "A1"]
    assert index.search("x" * 100_000) == []
    chunked = SearchIndex.build(
        [("A1", "red cotton dress"), ("A2", "blue denim jeans"), ("A3", "red red red")], chunk=0
    )
    assert chunked.search("red dress denim") == index.search("red dress denim")
    assert len(index.search("red dress denim")) == 3
    index.save(tmp_path / "i.npz")
    assert SearchIndex.load(tmp_path / "i.npz").search("red dress") == index.search("red dress")
