"""Abusive queries are refused before execution; unexpected errors are masked."""

from __future__ import annotations

from tests.api.operations import ENROLL, ME


async def test_too_deep_queries_are_refused_before_execution(api, count_queries):
    nested = "relatedEntry { " * 12 + "id" + " }" * 12
    query = "{ me { history(first: 1) { edges { node { " + nested + " } } } } }"
    body = await api(query, token="member:alice")
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert count_queries.count == 0


async def test_depth_cannot_be_hidden_in_fragments(api, count_queries):
    fragments = "".join(
        f"fragment F{i} on LedgerEntry {{ relatedEntry {{ ...F{i + 1} }} }}\n" for i in range(12)
    )
    query = (
        "{ me { history(first: 1) { edges { node { ...F0 } } } } }\n"
        + fragments
        + "fragment F12 on LedgerEntry { id }"
    )
    body = await api(query, token="member:alice")
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert count_queries.count == 0


async def test_too_many_aliases_are_refused(api, count_queries):
    query = "{ " + " ".join(f"a{i}: tiers {{ code }}" for i in range(31)) + " }"
    body = await api(query, token="member:alice")
    assert "aliases" in body["errors"][0]["message"]
    assert count_queries.count == 0


async def test_too_many_tokens_are_refused(api, count_queries):
    query = "{ " + " ".join("tiers { code name }" for _ in range(500)) + " }"
    body = await api(query, token="member:alice")
    assert "token" in body["errors"][0]["message"].lower()
    assert count_queries.count == 0


async def test_field_suggestions_are_off_outside_local_mode(api):
    body = await api("{ mee { id } }", token="member:alice")
    assert "Did you mean" not in body["errors"][0]["message"]


async def test_unexpected_errors_are_masked(api, monkeypatch):
    await api(ENROLL, {"input": {"birthDate": "1990-01-01"}}, "member:alice")

    async def broken(*args, **kwargs):
        raise RuntimeError("secret connection string postgres://user:pw@db")

    monkeypatch.setattr("backend.api.types.queries.entries_page", broken)
    body = await api(ME, token="member:alice")
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "secret" not in str(body)
