"""Rate deck pages: add a deck, preview an import (added/changed/removed, bad lines),
apply it, see versions, look up what a number costs; Chinese pages."""

from __future__ import annotations

import re

import aiohttp

from coovox.plugins.billing.models import DeckVersion, RateDeck

HEADER = "prefix,length,initial_cost,initial_time,rate,unit,start_time,end_time,remark\r\n"


def upload(c, text: str, **fields: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("csrf_token", c.csrf)
    for k, v in fields.items():
        form.add_field(k, v)
    form.add_field("file", text.encode(), filename="deck.csv", content_type="text/csv")
    return form


async def test_deck_import_preview_apply_and_lookup(billing_client):
    c = billing_client
    html = await (await c.get("/billing/rates")).text()
    assert 'href="/billing/decks"' in html
    resp = await c.post("/billing/decks", data={"csrf_token": c.csrf, "name": "",
                                                "all_extensions": "on"})
    assert resp.status == 400 and "Name is required" in await resp.text()
    resp = await c.post("/billing/decks", data={"csrf_token": c.csrf, "name": "Carrier A",
                                                "all_extensions": "on"})
    assert resp.status == 200
    deck = await RateDeck.get(name="Carrier A")
    page = f"/billing/decks/{deck.id}"
    bad = HEADER + "91,0,0,0,0.0300,60,,,Mobile\r\n9x,0,0,0,1,60,,,oops\r\n"
    resp = await c.post(page + "/import", data=upload(c, bad))
    html = await resp.text()
    assert 'id="pv-errors">1<' in html and "Prefix may hold only digits" in html
    assert 'id="deck-apply"' not in html  # a file with bad lines cannot be applied
    good = HEADER + "91,0,0,0,0.0300,60,,,Mobile\r\n"
    html = await (await c.post(page + "/import", data=upload(c, good))).text()
    assert 'id="pv-added">1<' in html and 'id="deck-apply"' in html
    assert await DeckVersion.all().count() == 0  # a preview changes nothing
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    form = aiohttp.FormData()
    for k, v in {"csrf_token": c.csrf, "token": token, "apply": "true", "layout": "coovox",
                 "effective_from": "", "filename": "deck.csv"}.items():
        form.add_field(k, v)
    resp = await c.post(page + "/import", data=form)
    html = await resp.text()
    assert "Imported 1 rates" in html and 'data-version="' in html
    assert await DeckVersion.all().count() == 1
    html = await (await c.get("/billing/decks?extension=100&dialed=912345")).text()
    assert 'id="lookup-result"' in html and "rate deck Carrier A" in html
    html = await (await c.get("/billing/decks?extension=100&dialed=555")).text()
    assert "No rate covers this number" in html
    resp = await c.post(page + "/import", data=upload(c, good))  # no CSRF → refused
    form = aiohttp.FormData()
    form.add_field("file", good.encode(), filename="deck.csv", content_type="text/csv")
    resp = await c.post(page + "/import", data=form)
    assert resp.status == 403


async def test_deck_pages_in_chinese(billing_client):
    c = billing_client
    await c.post("/billing/decks", data={"csrf_token": c.csrf, "name": "A",
                                         "all_extensions": "on"})
    deck = await RateDeck.get(name="A")
    headers = {"Accept-Language": "zh-CN"}
    html = await (await c.get("/billing/decks", headers=headers)).text()
    assert "费率表" in html
    html = await (await c.get(f"/billing/decks/{deck.id}", headers=headers)).text()
    assert "生效时间" in html
