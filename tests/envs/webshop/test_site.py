import html
import re
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("flask")

from agentgym.envs.webshop import pages
from agentgym.envs.webshop.env import WebShopEnv
from agentgym.envs.webshop.reward import reward_terms
from agentgym.envs.webshop.site import BackgroundSite, parse_keywords, parse_options
from agentgym.envs.webshop.store import product_price
from agentgym.envs.webshop.task import goal_query


@pytest.fixture(scope="module")
def site(data_present):
    with BackgroundSite() as site:
        yield site


def fetch(site, path, form=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        with urllib.request.urlopen(site.url + path, data=data, timeout=30) as response:
            return response.status, response.read().decode(), response.geturl()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), path


def hrefs(page, pattern):
    return [html.unescape(u) for u in re.findall(pattern, page)]


def instruction(page):
    texts = [t.strip() for t, _, _ in pages.parse(page).texts if t.strip()]
    return texts[next(i for i, t in enumerate(texts) if t.startswith("Instruction:")) + 1]


def shop(site, session_id, goal, catalog):
    """Play the oracle through HTTP; return (reward shown on the done page, instructions seen)."""
    seen = []
    _, page, _ = fetch(site, f"/{session_id}")
    seen.append(instruction(page))
    _, page, _ = fetch(site, f"/{session_id}", {"search_query": goal_query(goal)})
    seen.append(instruction(page))
    links = [u for u in hrefs(page, r'class="product-link" href="([^"]+)"') if f"/{goal['asin']}/" in u]
    if links:
        item_url = links[0]
    else:
        item_url = f"/item_page/{session_id}/{goal['asin']}/{urllib.parse.quote(str(['x']))}/1/%7B%7D"
    _, page, _ = fetch(site, item_url)
    for value in goal["goal_options"].values():
        radios = re.findall(r'<input type="radio"[^>]*value="([^"]*)" data-url="([^"]+)"', page)
        url = next(html.unescape(u) for v, u in radios if html.unescape(v) == value)
        _, page, _ = fetch(site, url)
    seen.append(instruction(page))
    (done_url,) = hrefs(page, r'action="(/done/[^"]+)"')
    status, page, _ = fetch(site, done_url, {})
    assert status == 200
    return float(re.search(r'id="reward">[^<]*<pre>([^<]+)</pre>', page).group(1)), seen


def test_fifty_concurrent_sessions_do_not_cross_talk(site, catalog):
    goals = catalog.goals("synthetic")
    with ThreadPoolExecutor(max_workers=60) as pool:
        results = list(pool.map(lambda i: shop(site, f"fixed_{i}", goals[i], catalog), range(60)))
    for i, (reward, seen) in enumerate(results):
        goal = goals[i]
        assert seen == [goal["instruction_text"]] * 3
        product = catalog.get(goal["asin"])
        expected, _ = reward_terms(product, goal, product_price(product), goal["goal_options"])
        assert reward == pytest.approx(expected)
    assert sum(r == 1.0 for r, _ in results) == 58


def test_site_pages_read_as_the_text_env(site, catalog):
    env = WebShopEnv()
    obs, _ = env.reset(options={"index": 6})
    _, page, _ = fetch(site, "/fixed_6")
    assert pages.simple_text(pages.parse(page)) == obs
    obs, *_ = env.step("search[men's shorts elastic waist]")
    _, page, _ = fetch(site, "/fixed_6", {"search_query": "Men's shorts elastic waist"})
    assert pages.simple_text(pages.parse(page)) == obs
    asin = env.session.results[0]
    obs, *_ = env.step(f"click[{asin.lower()}]")
    (link,) = [u for u in hrefs(page, r'class="product-link" href="([^"]+)"') if f"/{asin}/" in u]
    _, page, _ = fetch(site, link)
    assert pages.simple_text(pages.parse(page)) == obs


def test_a_purchase_is_final_and_the_done_page_hides_the_target(site, catalog):
    goal = catalog.goals("synthetic")[7]
    reward, _ = shop(site, "fixed_7", goal, catalog)
    sessions = site.app.extensions["webshop_sessions"]
    first = dict(sessions.get("fixed_7"))
    _, page, _ = fetch(site, f"/done/fixed_7/{goal['asin']}/%7B%7D", {})
    texts = [t.strip() for t, _, _ in pages.parse(page).texts if t.strip()]
    assert texts[texts.index("Your score (min 0.0, max 1.0)") + 1] == str(reward)
    other = next(p["asin"] for p in catalog.products() if p["asin"] != goal["asin"])
    status, again, _ = fetch(site, f"/done/fixed_7/{other}/%7B%7D", {})
    assert status == 200 and again == page
    assert sessions.get("fixed_7") == first
    target = texts[texts.index("Target") : texts.index("Reward")]
    labels = ["asin", "options", "attrs", "price upper", "instuction text", "category", "product category", "query"]
    assert target == ["Target", *labels, "Goal", "None"]
    assert goal["instruction_text"] not in page and "price lower than" not in page


@pytest.mark.parametrize(
    "path",
    [
        "/../../etc/passwd",
        "/static/../site.py",
        "/static/%2e%2e/site.py",
        "/search_results/nosuchsession/%5B'a'%5D/1",
        "/item_page/fixed_1/..%2F..%2Fetc%2Fpasswd/x/1/%7B%7D",
        "/item_page/fixed_1/B09PYSKD7H/x/1/__import__('os')",
        "/item_page/fixed_1/B09PYSKD7H/x/1/" + "%5B" * 5000,
        "/done/fixed_1/B09PYSKD7H/%7B1:2%7D",
        "/item_sub_page/fixed_1/B09PYSKD7H/x/1/Secret/%7B%7D",
        "/" + "a" * 5000,
        "/search_results/fixed_1/x/-1",
    ],
)
def test_hostile_urls_get_clean_errors(site, path):
    fetch(site, "/fixed_1")
    status, body, _ = fetch(site, path)
    assert status in (400, 404)
    assert "Traceback" not in body and "root:" not in body


def test_html_and_js_in_queries_are_escaped(site):
    payload = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    status, page, _ = fetch(site, "/fixed_2", {"search_query": payload})
    assert status == 200
    assert "<script>alert" not in page and "<img src=x" not in page
    status, page, _ = fetch(site, "/fixed_2", {"search_query": "x" * 60_000})
    assert status in (200, 413)


def test_url_literal_parsers():
    assert parse_keywords("['red', 'dress']") == ["red", "dress"]
    assert parse_keywords("shoes") == ["shoes"]
    assert parse_keywords("[1, 2]") is None
    assert parse_keywords("[" * 3000) is None
    assert parse_options("{'color': 'navy'}") == {"color": "navy"}
    assert parse_options("{'a': 1}") is None
    assert parse_options("__import__('os').system('x')") is None


def test_home_redirects_and_assets_are_local(site):
    status, page, url = fetch(site, "/")
    assert status == 200 and url.endswith("/abc")
    assert "http" not in re.sub(r'href="http[^"]*"', "", page.split("<body>")[0]).replace("http-equiv", "")
    assert fetch(site, "/static/webshop.js")[0] == 200


def test_sessions_are_bounded_and_keep_their_goal(data_present):
    from agentgym.envs.webshop.site import create_app

    app = create_app(max_sessions=3)
    client = app.test_client()
    sessions = app.extensions["webshop_sessions"]
    for i in range(5):
        assert client.get(f"/fixed_{i}").status_code == 200
    assert client.get("/search_results/fixed_0/shoes/1").status_code == 404  # dropped, least recently used
    assert client.get("/search_results/fixed_4/shoes/1").status_code == 200
    assert sessions.get("fixed_4")["goal"] == sessions.goals[4]
    first = sessions.get("random-id", create=True)["goal"]
    assert create_app().extensions["webshop_sessions"].get("random-id", create=True)["goal"] == first


def test_agentgym_session_ids_pursue_agentgyms_goals(data_present):
    from agentgym.envs.webshop.site import create_app
    from agentgym.envs.webshop.task import goal_list

    agentgym, synthetic = goal_list("1k", "agentgym"), goal_list("1k", "synthetic")
    i = next(i for i in range(200) if agentgym[i]["price_upper"] != synthetic[i]["price_upper"])
    sessions = create_app().extensions["webshop_sessions"]
    assert sessions.get(f"p1e2_agentgym_fixed_{i}", create=True)["goal"] == agentgym[i]
    assert sessions.get(f"p1e2_synthetic_fixed_{i}", create=True)["goal"] == synthetic[i]


def test_unknown_goal_set_is_refused(data_present):
    from agentgym.envs.webshop.site import create_app

    with pytest.raises(ValueError, match="goals must be one of"):
        create_app(goals="nonsense")
