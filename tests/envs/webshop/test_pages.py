"""The fast page parser against BeautifulSoup's html.parser reading (the original's), on all kinds of page."""

import pytest

bs4 = pytest.importorskip("bs4")

from agentgym.envs.webshop import pages  # noqa: E402
from agentgym.envs.webshop.session import ShopSession, render_page  # noqa: E402

BeautifulSoup = bs4.BeautifulSoup
Comment = bs4.element.Comment

HIDDEN = {"style", "script", "head", "title", "meta", "[document]"}


def soup_reading(html):
    """The original env's reading of a page, with BeautifulSoup."""
    soup = BeautifulSoup(html, "html.parser")
    texts = [
        (str(t), t.parent.name, tuple(t.parent.get("class") or ()))
        for t in soup.find_all(string=True)
        if t.parent.name not in HIDDEN and not isinstance(t, Comment)
    ]
    clickables = {}
    for element in soup.find_all(class_="btn") + soup.find_all(class_="product-link"):
        clickables[element.get_text().lower()] = "link" if "product-link" in element.get("class") else "button"
    for radio in soup.select('input[type="radio"]'):
        clickables[str(radio.get("value"))] = "radio"
    return texts, clickables, soup.find(id="search_input") is not None


def assert_same_reading(html):
    page = pages.parse(html)
    texts, clickables, search_bar = soup_reading(html)
    assert page.texts == texts
    assert {k: v[0] for k, v in page.clickables.items()} == clickables
    assert list(page.clickables) == list(clickables)
    assert page.has_search_bar == search_bar


def pages_of(catalog, index, goal, asins):
    session = ShopSession(catalog, index, goal, session_id="t_fixed_0", show_attrs=True)
    yield session.html
    session.act(f"search[{goal['instruction_text']}]")
    yield session.html
    session.act("click[next >]")
    yield session.html
    for asin in asins:
        product = catalog.get(asin)
        session.page_name, session.asin, session.options = "item_page", asin, {}
        for values in product["options"].values():
            session.options = {**session.options, "x": values[-1]}
        yield render_page(session)
        for sub_page in pages.SUB_PAGES:
            session.page_name, session.sub_page = "item_sub_page", sub_page
            yield render_page(session)
    session.page_name, session.asin = "item_page", goal["asin"]
    session._render()
    session.act("click[buy now]")
    yield session.html


def test_parser_reads_pages_as_beautifulsoup(catalog, index):
    goal = catalog.goals("synthetic")[6]
    asins = [asin for asin, _ in catalog.documents()][::25]
    for html in pages_of(catalog, index, goal, asins):
        assert_same_reading(html)


@pytest.mark.slow
def test_parser_reads_every_product_page_as_beautifulsoup(catalog, index):
    goal = catalog.goals("synthetic")[0]
    for html in pages_of(catalog, index, goal, [asin for asin, _ in catalog.documents()]):
        assert_same_reading(html)


@pytest.mark.parametrize(
    "html",
    [
        "<p>a &amp; b &lt;c&gt; &#39;d&#39; &quot;e&quot; &#x27;</p>",  # pages escape every '&'
        "<div>  <span> x </span>\n <b></b> \t </div>",
        "<pre>   </pre><textarea>\n</textarea>",
        "<p>one<br>two<br/>three</p><!-- hidden --><script>var x = '<b>';</script>",
        "<button class='btn'>Buy <b>Now</b></button><a class='product-link btn'>B0X</a>",
        "<ul><li>unclosed<li>second</ul></div></span>tail",
        "<input type=radio name=size value='x-large'><input type='RADIO' value=\"a&amp;b\">",
    ],
)
def test_parser_edge_cases_match_beautifulsoup(html):
    assert_same_reading(html)
