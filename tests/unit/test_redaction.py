"""The Alpha Vantage key is masked wherever a URL or message could carry it."""

from __future__ import annotations

from data_generator.sources.alpha_vantage import redact

API_KEY = "AVTESTKEY7Q4Z9X"


def test_redact_masks_the_secret_and_any_apikey_parameter():
    text = f"GET /query?symbol=IBM&apikey={API_KEY}&datatype=json detected {API_KEY}"

    assert redact(text, API_KEY) == "GET /query?symbol=IBM&apikey=***&datatype=json detected ***"
    assert redact("url?apikey=other&x=1", None) == "url?apikey=***&x=1"
    assert redact("nothing secret", None) == "nothing secret"
