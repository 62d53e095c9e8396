"""WebShop (Yao et al., 2022): a clean re-implementation of the simulated shop, its goals and its reward.

Modules: ``store`` (SQLite product catalog), ``analysis`` (Lucene's English analyzer), ``search`` (BM25),
``goals``, ``reward``, ``pages`` (HTML pages and their text observations), ``session`` (the page state
machine), ``env`` (``agentgym/WebShop-v0``), ``site`` (the Flask site), ``browser``
(``agentgym/WebShopBrowser-v0``). See ``README.md`` beside this file.
"""

from __future__ import annotations

from typing import Any

__all__ = ["score_purchase"]


def score_purchase(*args: Any, **kwargs: Any) -> tuple[float, dict[str, Any]]:
    """Score a purchase as WebShop does; see :func:`agentgym.envs.webshop.reward.score_purchase`."""
    from agentgym.envs.webshop.reward import score_purchase as _score

    return _score(*args, **kwargs)
