"""StyleID through the API: option lists by language, updates with typed errors, `me.styleProfile`."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from sqlalchemy import func, select

from backend.db.tables import AuditLog, LedgerEntry, StyleProfile
from scripts.bench.run import readme_operation
from tests.api.operations import ENROLL
from tests.api.test_query_counts import counting_checkouts

ALICE = "member:alice"
OPTIONS = """
query Options($locale: String) {
  styleOptions(locale: $locale) {
    locale maxChoices
    hairColours { code label tag } bodyShapes { code label } topSizes { code label }
    bottomSizes { code label } shoeSizes { code label } colours { code label tag }
    styles { code label tag } categories { code label tag }
  }
}"""
UPDATE = """
mutation Style($input: UpdateStyleProfileInput!) {
  updateStyleProfile(input: $input) {
    styleProfile { hairColour bodyShape topSize bottomSize shoeSize colours styles
                   favouriteCategories dislikedCategories completion completedAt completionPoints }
    pointsAwarded
    errors { code field message }
  }
}"""
ME_STYLE = """
query MeStyle {
  me { points { balance }
       styleProfile { hairColour colours styles favouriteCategories dislikedCategories
                      completion completedAt completionPoints } }
}"""
COMPLETE = {
    "hairColour": "brown",
    "bodyShape": "hourglass",
    "topSize": "s",
    "bottomSize": "36",
    "shoeSize": "38.5",
    "colours": ["black", "beige"],
    "styles": ["classic"],
    "favouriteCategories": ["tea", "knitwear"],
    "dislikedCategories": ["coffee"],
}


async def enrol(api, token: str = ALICE, locale: str = "en") -> None:
    """Enrol the caller."""
    body = await api(ENROLL, {"input": {"birthDate": "1990-05-17", "locale": locale}}, token)
    assert body["data"]["enroll"]["errors"] == [], body


async def update(api, token: str = ALICE, **fields: object) -> dict:
    """Send `updateStyleProfile` and return its payload."""
    body = await api(UPDATE, {"input": fields}, token)
    assert "errors" not in body, body
    return body["data"]["updateStyleProfile"]


async def me_style(api, token: str = ALICE) -> dict:
    """The caller's balance and StyleID."""
    body = await api(ME_STYLE, token=token)
    assert "errors" not in body, body
    return body["data"]["me"]


async def option_labels(api, token: str, locale: str | None = None) -> dict:
    """The option lists as `styleOptions` answers them."""
    body = await api(OPTIONS, {"locale": locale}, token)
    assert "errors" not in body, body
    return body["data"]["styleOptions"]


async def test_options_are_labelled_in_the_members_language_or_the_one_asked_for(api):
    await enrol(api, "member:olena", locale="uk")
    own = await option_labels(api, "member:olena")
    assert own["locale"] == "uk" and own["maxChoices"] == 10
    assert {"code": "tea", "label": "Чай", "tag": None} in own["categories"]
    assert {"code": "sporty", "label": "Спортивний", "tag": "style:sporty"} in own["styles"]
    arabic = await option_labels(api, "member:olena", "ar")
    assert {"code": "coffee", "label": "قهوة", "tag": None} in arabic["categories"]
    dutch = await option_labels(api, "member:olena", "nl-nl")
    assert dutch["locale"] == "nl-NL"
    assert {"code": "blonde", "label": "Blond", "tag": "hair_colour:blonde"} in dutch["hairColours"]
    french = await option_labels(api, "member:olena", "fr")
    assert {"code": "knitwear", "label": "Knitwear", "tag": None} in french["categories"]
    sizes = [o["code"] for o in own["shoeSizes"]]
    assert sizes[:3] == ["35", "35.5", "36"] and sizes[-1] == "48" and len(sizes) == 27
    assert {"code": "38.5", "label": "EU 38.5"} in own["shoeSizes"]  # sizes: one label for all
    assert [o["code"] for o in own["topSizes"]][:4] == ["xxs", "xs", "s", "m"]


async def test_any_signed_in_caller_reads_the_options_and_anonymous_ones_do_not(api):
    for token in ("marketing:mia", "integration:pos", "member:not-enrolled-yet"):
        assert (await option_labels(api, token))["locale"] == "en"
    body = await api(OPTIONS, {"locale": None})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("locale", ["x\x00", "english please", "a" * 10_000, "", "zz-ZZ-1"])
async def test_a_malformed_locale_is_a_bad_argument(api, locale):
    body = await api(OPTIONS, {"locale": locale}, ALICE)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_completing_the_profile_earns_points_once_and_shows_in_me(api):
    await enrol(api)
    empty = await me_style(api)
    assert empty["styleProfile"] == {
        "hairColour": None,
        "colours": [],
        "styles": [],
        "favouriteCategories": [],
        "dislikedCategories": [],
        "completion": 0,
        "completedAt": None,
        "completionPoints": 100,
    }
    half = await update(api, hairColour="brown", colours=["black"], styles=["classic"])
    assert half["errors"] == [] and half["pointsAwarded"] == 0
    assert half["styleProfile"]["completion"] == 37  # 3 of 8 sections
    done = await update(api, **COMPLETE)
    assert done["errors"] == [] and done["pointsAwarded"] == 100
    assert done["styleProfile"]["completion"] == 100
    assert done["styleProfile"]["completedAt"] == "2026-06-01T12:00:00+00:00"
    assert done["styleProfile"]["completionPoints"] == 0
    me = await me_style(api)
    assert me["points"]["balance"] == 100 and me["styleProfile"]["completion"] == 100
    cleared = await update(api, hairColour="", colours=[], favouriteCategories=[])
    assert cleared["styleProfile"]["completion"] == 62
    assert cleared["styleProfile"]["hairColour"] is None
    assert cleared["styleProfile"]["dislikedCategories"] == ["coffee"]  # left out: unchanged
    assert (await update(api, **COMPLETE))["pointsAwarded"] == 0
    assert (await me_style(api))["points"]["balance"] == 100


async def test_ten_concurrent_completions_through_the_api_award_once(api, database):
    await enrol(api)
    payloads = await asyncio.gather(*(update(api, **COMPLETE) for _ in range(10)))
    assert all(p["errors"] == [] for p in payloads)
    assert sorted(p["pointsAwarded"] for p in payloads) == [0] * 9 + [100]
    assert (await me_style(api))["points"]["balance"] == 100
    async with database.reader.connect() as conn:
        entries = (await conn.execute(select(func.count()).select_from(LedgerEntry))).scalar_one()
    assert entries == 1


REFUSED = [
    ({"hairColour": "green"}, "UNKNOWN_OPTION", "hairColour"),
    ({"bodyShape": "pear\u0000"}, "UNKNOWN_OPTION", "bodyShape"),
    ({"topSize": "M"}, "UNKNOWN_OPTION", "topSize"),
    ({"shoeSize": "9" * 20_000}, "UNKNOWN_OPTION", "shoeSize"),
    ({"bottomSize": "\u202e36"}, "UNKNOWN_OPTION", "bottomSize"),
    ({"colours": ["black", "\u0000"]}, "UNKNOWN_OPTION", "colours.1"),
    ({"styles": ["classic", "classic"]}, "DUPLICATE_CHOICE", "styles.1"),
    ({"colours": ["black"] * 5000}, "TOO_MANY_CHOICES", "colours"),
    ({"favouriteCategories": ["coffee"]}, "LIKED_AND_DISLIKED", "favouriteCategories.0"),
    ({"dislikedCategories": ["tea"]}, "LIKED_AND_DISLIKED", "dislikedCategories.0"),
    ({"favouriteCategories": ["Tea"]}, "UNKNOWN_OPTION", "favouriteCategories.0"),
    ({**COMPLETE, "shoeSize": "38,5"}, "UNKNOWN_OPTION", "shoeSize"),
]


@pytest.mark.parametrize(("fields", "code", "field"), REFUSED)
async def test_bad_answers_get_typed_errors_and_change_nothing(
    api, database, caplog, fields, code, field
):
    await enrol(api)
    await update(api, **{**COMPLETE, "hairColour": None})
    before = await me_style(api)
    caplog.set_level(logging.INFO)
    body = await api.raw(UPDATE, {"input": fields}, ALICE)
    payload = body.json()["data"]["updateStyleProfile"]
    assert payload["styleProfile"] is None and payload["pointsAwarded"] == 0
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert "\u0000" not in payload["errors"][0]["message"]  # the junk is not echoed back
    assert await me_style(api) == before
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_only_enrolled_members_update_a_profile(api, database):
    body = await api(UPDATE, {"input": COMPLETE}, "member:stranger")
    assert body["data"]["updateStyleProfile"]["errors"][0]["code"] == "NOT_ENROLLED"
    for token in ("marketing:mia", "integration:pos"):
        body = await api(UPDATE, {"input": COMPLETE}, token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api(UPDATE, {"input": COMPLETE}))["errors"][0]["extensions"][
        "code"
    ] == "UNAUTHENTICATED"
    async with database.reader.connect() as conn:
        profiles = (await conn.execute(select(func.count()).select_from(StyleProfile))).scalar_one()
    assert profiles == 0


async def test_a_lone_surrogate_in_an_answer_is_refused_before_anything_runs(api):
    await enrol(api)
    body = json.dumps({"query": UPDATE, "variables": {"input": {"hairColour": "\ud800"}}})
    response = await api.client.post(
        "/graphql",
        content=body.encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {ALICE}"},
    )
    assert response.status_code == 400 and "BAD_REQUEST" in response.text
    assert (await me_style(api))["styleProfile"]["completion"] == 0


async def statements_of_me_style(api, database, count_queries, token: str) -> tuple[int, dict]:
    """Statements and pool checkouts `me { styleProfile }` costs, warm rules."""
    await me_style(api, token)
    count_queries.count = 0
    with counting_checkouts(database) as checkouts:
        await me_style(api, token)
    return count_queries.count, checkouts


async def test_me_style_profile_costs_a_fixed_few_statements(api, database, count_queries):
    await enrol(api, "member:empty")
    await enrol(api, "member:full")
    await update(
        api,
        "member:full",
        **{**COMPLETE, "colours": ["black", "white", "grey", "navy", "blue", "green", "red"]},
    )
    empty = await statements_of_me_style(api, database, count_queries, "member:empty")
    full = await statements_of_me_style(api, database, count_queries, "member:full")
    assert empty == full, (empty, full)
    statements, checkouts = full
    assert statements <= 3, statements  # the member, their expiring points, the profile
    assert checkouts["reader"] <= statements and checkouts["writer"] == 0, checkouts


DASHBOARD = readme_operation(0)


async def dashboard_costs(api, database, count_queries, uid: str) -> tuple[dict, int, dict]:
    """The README dashboard's `me`, its statements and checkouts, warm rules."""
    await api(DASHBOARD, token=f"member:{uid}")
    count_queries.count = 0
    with counting_checkouts(database) as checkouts:
        body = await api(DASHBOARD, token=f"member:{uid}")
    assert "errors" not in body, body
    return body["data"]["me"], count_queries.count, checkouts


async def test_the_dashboard_reads_the_style_profile_once_with_the_offers(
    api, database, count_queries
):
    # Given a member without a StyleID profile and one with a complete one
    await enrol(api, "member:plain")
    await enrol(api, "member:styled")
    await update(api, "member:styled", **COMPLETE)
    for uid, completion in (("plain", 0), ("styled", 100)):
        # When each opens the README dashboard
        me, statements, checkouts = await dashboard_costs(api, database, count_queries, uid)
        # Then their StyleID is the one `me { styleProfile }` alone reads
        alone = await me_style(api, f"member:{uid}")
        assert me["styleProfile"]["completion"] == alone["styleProfile"]["completion"]
        assert me["styleProfile"]["completion"] == completion, me
        # and the batch reads one statement: the member, with the offers' facts (their member
        # scalars and the StyleID profile, which also answers `styleProfile`), unread
        # notifications, mascot hunts, the leaderboard rank and the wheel's spins as columns,
        # and as JSON columns the rows of points (due lots), tier (its months), the offers'
        # categories and open offers and the history page. The same on SQLite and PostgreSQL.
        assert (statements, checkouts) == (1, {"reader": 1, "writer": 0}), (uid, statements)


async def test_update_style_profile_costs_a_fixed_few_statements(api, database, count_queries):
    await enrol(api)
    await update(api, hairColour="brown")
    count_queries.count = 0
    assert (await update(api, colours=["black"], styles=["classic"]))["errors"] == []
    # Member by uid, the options, the member's lock, the profile, its update (+ BEGIN IMMEDIATE).
    assert count_queries.count <= {"sqlite": 6, "postgresql": 5}[database.writer.dialect.name], (
        count_queries.count
    )


SET_OPTION = """
mutation SetOption($input: SetStyleOptionInput!) {
  setStyleOption(input: $input) {
    option { kind code retired labels { locale label } }
    errors { code field message }
  }
}"""
MIA = "marketing:mia"


async def set_option(api, token: str = MIA, **fields: object) -> dict:
    """Send `setStyleOption` and return its payload."""
    body = await api(SET_OPTION, {"input": {"reason": "Spring range", **fields}}, token)
    assert "errors" not in body, body
    return body["data"]["setStyleOption"]


async def audit_rows(database) -> list[tuple]:
    """The audit trail of option changes."""
    async with database.reader.connect() as conn:
        rows = await conn.execute(
            select(AuditLog.actor_uid, AuditLog.reason, AuditLog.details).where(
                AuditLog.action == "set_style_option"
            )
        )
        return [tuple(r) for r in rows]


async def test_marketing_adds_relabels_and_retires_an_option_with_an_audit_trail(api, database):
    await enrol(api, locale="nl-BE")
    added = await set_option(
        api,
        kind="CATEGORY",
        code="sneakers",
        labels=[{"locale": "en", "label": "Sneakers"}, {"locale": "NL", "label": "  Sneakers  "}],
    )
    assert added == {
        "option": {
            "kind": "CATEGORY",
            "code": "sneakers",
            "retired": False,
            "labels": [
                {"locale": "en", "label": "Sneakers"},
                {"locale": "nl", "label": "Sneakers"},
            ],
        },
        "errors": [],
    }
    relabelled = await set_option(
        api,
        kind="CATEGORY",
        code="sneakers",
        labels=[{"locale": "nl-BE", "label": "Sportschoenen"}],
    )
    assert len(relabelled["option"]["labels"]) == 3
    listed = (await option_labels(api, ALICE))["categories"]
    assert listed[-1] == {"code": "sneakers", "label": "Sportschoenen", "tag": None}
    assert (await update(api, favouriteCategories=["sneakers"]))["errors"] == []

    retired = await set_option(api, kind="CATEGORY", code="sneakers", retired=True)
    assert retired["option"]["retired"] and len(retired["option"]["labels"]) == 3
    assert "sneakers" not in [o["code"] for o in (await option_labels(api, ALICE))["categories"]]
    assert (await me_style(api))["styleProfile"]["favouriteCategories"] == ["sneakers"]
    refused = await update(api, favouriteCategories=["sneakers", "tea"])
    assert refused["errors"][0]["code"] == "UNKNOWN_OPTION"
    assert [(uid, details["retired"]) for uid, _, details in await audit_rows(database)] == [
        ("mia", False),
        ("mia", False),
        ("mia", True),
    ]


# At full width in multi-byte characters (labels) and ASCII (codes), as PostgreSQL stores them.
LONG_LABEL = "ї" * 63 + "😀"


async def test_an_option_at_its_limits_reads_back_intact(api, database):
    code = "a" * 64
    locales = ("en", "ar", "uk", "zh-Hant-TW-x-abc")  # the last one 16 characters long
    labels = [{"locale": locale, "label": LONG_LABEL} for locale in locales]
    saved = await set_option(api, kind="STYLE", code=code, labels=labels, reason="П" * 200)
    assert saved["errors"] == [] and {la["label"] for la in saved["option"]["labels"]} == {
        LONG_LABEL
    }
    styles = (await option_labels(api, MIA, "zh-Hant-TW-x-abc"))["styles"]
    assert {"code": code, "label": LONG_LABEL, "tag": f"style:{code}"} in styles
    ((_, reason, _),) = await audit_rows(database)
    assert reason == "П" * 200


OPTION_REFUSALS = [
    ({"code": "Sneakers"}, "INVALID_CODE", "code"),
    ({"code": "a" * 65}, "INVALID_CODE", "code"),
    ({"code": "snea\u0000kers"}, "INVALID_CODE", "code"),
    ({"code": "-x"}, "INVALID_CODE", "code"),
    ({"code": "sneakers", "labels": None}, "LABEL_REQUIRED", "labels"),
    ({"code": "sneakers", "labels": [{"locale": "nl", "label": "X"}]}, "LABEL_REQUIRED", "labels"),
    (
        {"code": "sneakers", "labels": [{"locale": "en", "label": "ї" * 65}]},
        "INVALID_LABEL",
        "labels.0.label",
    ),
    (
        {"code": "sneakers", "labels": [{"locale": "en", "label": "S\u0000"}]},
        "INVALID_LABEL",
        "labels.0.label",
    ),
    (
        {"code": "sneakers", "labels": [{"locale": "en", "label": "   "}]},
        "INVALID_LABEL",
        "labels.0.label",
    ),
    (
        {"code": "sneakers", "labels": [{"locale": "en\n", "label": "S"}]},
        "INVALID_LOCALE",
        "labels.0.locale",
    ),
    (
        {
            "code": "sneakers",
            "labels": [{"locale": "en", "label": "S"}, {"locale": "EN", "label": "T"}],
        },
        "INVALID_LOCALE",
        "labels.1.locale",
    ),
    (
        {"code": "sneakers", "labels": [{"locale": "en", "label": "S"}] * 21},
        "INVALID_LABEL",
        "labels",
    ),
    ({"code": "tea", "reason": "  "}, "REASON_REQUIRED", "reason"),
    ({"code": "tea", "reason": "П" * 201}, "REASON_REQUIRED", "reason"),
]


@pytest.mark.parametrize(("fields", "code", "field"), OPTION_REFUSALS)
async def test_bad_option_changes_get_typed_errors_and_change_nothing(
    api, database, fields, code, field
):
    before = await option_labels(api, MIA)
    payload = await set_option(api, **{"kind": "CATEGORY", **fields})
    assert payload["option"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert await option_labels(api, MIA) == before and await audit_rows(database) == []


async def test_only_marketing_and_admin_change_options(api, database):
    await enrol(api)
    for token in (ALICE, "support:sam", "integration:pos"):
        body = await api(
            SET_OPTION, {"input": {"kind": "STYLE", "code": "x", "reason": "why not"}}, token
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await set_option(api, "admin:ada", kind="STYLE", code="boho", retired=True))[
        "errors"
    ] == []
    assert len(await audit_rows(database)) == 1


async def test_concurrent_additions_of_one_option_leave_one_row(api):
    payloads = await asyncio.gather(
        *(
            set_option(api, kind="COLOUR", code="teal", labels=[{"locale": "en", "label": "Teal"}])
            for _ in range(8)
        )
    )
    assert all(p["errors"] == [] for p in payloads)
    colours = [o["code"] for o in (await option_labels(api, MIA))["colours"]]
    assert colours.count("teal") == 1 and colours[-1] == "teal"
