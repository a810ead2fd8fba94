"""Tokens are compared by value only: `tokens_match` is the one comparison of the bearer token
and the webhook token, and it must never raise, whatever text a client sends.

It uses hmac.compare_digest, whose time does not depend on where the first difference is; what
can be asserted without a stopwatch is its behaviour, so that is what is tested here.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from web.http import tokens_match

TOKEN = "s3cret-Token_42"
#: Any code point at all, lone surrogates included (what a JSON escape or a test client makes).
any_text = st.text(st.characters(codec=None, categories=None), max_size=40)


@pytest.mark.parametrize("given_token", [
    "", TOKEN[:-1], TOKEN[1:], TOKEN + "x", "x" + TOKEN, TOKEN.upper(), TOKEN.lower(),
    f" {TOKEN}", f"{TOKEN}\x00", TOKEN.replace("e", "é"), TOKEN.replace("e", "е"),  # Cyrillic
    "\ud800", "\udcff", TOKEN + "\udcff", "🙂" * 15, "x" * 10_000,
])
def test_anything_but_the_token_is_refused(given_token):
    assert tokens_match(given_token, TOKEN) is False


@pytest.mark.parametrize("token", [TOKEN, "tökén-ü", "🙂-key", "a"])
def test_the_token_itself_is_accepted(token):
    assert tokens_match(token, token) is True


def test_composed_and_decomposed_accents_are_different_tokens():
    assert tokens_match("caf\u00e9", "cafe\u0301") is False


@pytest.mark.parametrize("given_token", ["", " ", "anything", "\ud800"])
def test_an_unset_token_never_matches(given_token):
    assert tokens_match(given_token, "") is False


@given(given_token=any_text, expected=any_text.filter(bool))
def test_a_match_is_exactly_equality(given_token, expected):
    assert tokens_match(given_token, expected) is (given_token == expected)


@given(expected=any_text.filter(bool))
def test_every_configured_token_matches_itself(expected):
    assert tokens_match(expected, expected) is True
