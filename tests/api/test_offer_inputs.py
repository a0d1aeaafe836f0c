"""createOffer input at its limits: the maximum reads back intact, one step over is a typed error."""

from __future__ import annotations

import pytest
from strawberry.relay import GlobalID

from tests.api.offers_support import CREATE, MIA, create, offer_input, state

LANGUAGES = ["en", "ar", "uk", "nl", "de", "fr", "es", "it", "pt", "pl"] + [
    f"en-{region}" for region in ("GB", "US", "AU", "CA", "IE", "NZ", "ZA", "IN", "SG", "MT")
]
TITLE = "ق" * 118 + "👩‍"  # 120 characters, multi-byte (PostgreSQL counts characters)
DESCRIPTION = "Ї" * 999 + "😀"
URL = "https://cdn.example.com/" + "a" * (2048 - 24)


def full(**fields):
    """An offer with every field at its maximum."""
    return offer_input(
        texts=[{"language": tag, "title": TITLE, "description": DESCRIPTION} for tag in LANGUAGES],
        pointsCost=1_000_000_000,
        percent=100,
        categories=[f"{i:02d}" + "к" * 62 for i in range(20)],
        audience={
            "minimumTier": "platinum",
            "clubId": str(GlobalID("Club", str(2**31 - 1))),
            "styleTags": [f"{i:02d}" + "s" * 62 for i in range(20)],
            "categories": [f"{i:02d}" + "c" * 62 for i in range(20)],
        },
        startsAt="2026-06-01T00:00:00Z",
        endsAt="9999-12-31T23:59:59Z",
        stock=1_000_000_000,
        perMemberLimit=1000,
        imageUrl=URL,
        voucherValidDays=3650,
        **fields,
    )


async def test_every_field_at_its_maximum_reads_back_intact(api):
    body = await api(CREATE, full(), MIA)
    payload = body["data"]["createOffer"]
    assert payload["errors"] == [], payload
    offer = payload["offer"]
    assert len(offer["texts"]) == 20
    assert all((t["title"], t["description"]) == (TITLE, DESCRIPTION) for t in offer["texts"])
    assert offer["categories"] == full()["input"]["categories"]
    assert offer["audience"] == {
        "minimumTier": "platinum",
        "clubId": str(GlobalID("Club", str(2**31 - 1))),
        "styleTags": full()["input"]["audience"]["styleTags"],
        "categories": full()["input"]["audience"]["categories"],
    }
    assert (offer["imageUrl"], offer["stock"], offer["pointsCost"]) == (URL, 10**9, 10**9)
    assert offer["endsAt"] == "9999-12-31T23:59:59+00:00"


def _texts(**text):
    """The texts list with the English one changed."""
    texts = offer_input()["input"]["texts"]
    return [{**texts[0], **text}, *texts[1:]]


OVER = [
    ({"texts": _texts(title=TITLE + "x")}, "INVALID_TEXT", "texts.0.title"),
    ({"texts": _texts(title=" ")}, "INVALID_TEXT", "texts.0.title"),
    ({"texts": _texts(title="a\x00b")}, "INVALID_TEXT", "texts.0.title"),
    ({"texts": _texts(title="\u202eevil")}, "INVALID_TEXT", "texts.0.title"),
    ({"texts": _texts(description=DESCRIPTION + "x")}, "INVALID_TEXT", "texts.0.description"),
    ({"texts": _texts(description="line\nbreak")}, "INVALID_TEXT", "texts.0.description"),
    ({"texts": _texts(language="english")}, "INVALID_LANGUAGE", "texts.0.language"),
    ({"texts": _texts(language="ar")}, "INVALID_LANGUAGE", "texts.1.language"),
    ({"texts": offer_input()["input"]["texts"][1:]}, "MISSING_DEFAULT_LANGUAGE", "texts"),
    (
        {"texts": [{"language": f"en-x-{i:03d}", "title": "t"} for i in range(21)]},
        "INVALID_TEXT",
        "texts",
    ),
    ({"pointsCost": -1}, "INVALID_POINTS", "pointsCost"),
    ({"pointsCost": 1_000_000_001}, "INVALID_POINTS", "pointsCost"),
    ({"percent": 101}, "INVALID_PERCENT", "percent"),
    ({"percent": 0}, "INVALID_PERCENT", "percent"),
    ({"percent": None}, "INVALID_VALUE", "percent"),
    ({"discount": {"amount": "5", "currency": "EUR"}}, "INVALID_VALUE", "discount"),
    ({"kind": "FREE_SHIPPING"}, "INVALID_VALUE", "percent"),
    (
        {"kind": "FIXED_DISCOUNT", "percent": None, "discount": {"amount": "0", "currency": "EUR"}},
        "INVALID_AMOUNT",
        "discount.amount",
    ),
    (
        {
            "kind": "FIXED_DISCOUNT",
            "percent": None,
            "discount": {"amount": "NaN", "currency": "EUR"},
        },
        "INVALID_AMOUNT",
        "discount.amount",
    ),
    (
        {
            "kind": "FIXED_DISCOUNT",
            "percent": None,
            "discount": {"amount": "1000000.0001", "currency": "EUR"},
        },
        "INVALID_AMOUNT",
        "discount.amount",
    ),
    (
        {"kind": "FIXED_DISCOUNT", "percent": None, "discount": {"amount": "5", "currency": "eur"}},
        "UNKNOWN_CURRENCY",
        "discount.currency",
    ),
    ({"categories": ["k" * 65]}, "INVALID_CATEGORY", "categories.0"),
    ({"categories": [str(i) for i in range(21)]}, "INVALID_CATEGORY", "categories"),
    ({"categories": [""]}, "INVALID_CATEGORY", "categories.0"),
    ({"audience": {"styleTags": ["s" * 65]}}, "INVALID_STYLE_TAG", "audience.styleTags.0"),
    ({"audience": {"categories": ["\x00"]}}, "INVALID_CATEGORY", "audience.categories.0"),
    ({"audience": {"minimumTier": "diamond"}}, "UNKNOWN_TIER", "audience.minimumTier"),
    ({"audience": {"clubId": "7"}}, "INVALID_ID", "audience.clubId"),
    ({"audience": {"clubId": str(GlobalID("Offer", "7"))}}, "INVALID_ID", "audience.clubId"),
    ({"endsAt": "2026-06-01T12:00:00Z"}, "INVALID_WINDOW", "endsAt"),
    ({"stock": -1}, "INVALID_STOCK", "stock"),
    ({"stock": 1_000_000_001}, "INVALID_STOCK", "stock"),
    ({"perMemberLimit": 0}, "INVALID_LIMIT", "perMemberLimit"),
    ({"perMemberLimit": 1001}, "INVALID_LIMIT", "perMemberLimit"),
    ({"voucherValidDays": 0}, "INVALID_VALIDITY", "voucherValidDays"),
    ({"voucherValidDays": 3651}, "INVALID_VALIDITY", "voucherValidDays"),
    ({"imageUrl": URL + "a"}, "INVALID_IMAGE_URL", "imageUrl"),
    ({"imageUrl": "http://cdn.example.com/a.png"}, "INVALID_IMAGE_URL", "imageUrl"),
    ({"imageUrl": "javascript:alert(1)"}, "INVALID_IMAGE_URL", "imageUrl"),
    ({"imageUrl": "https:///a.png"}, "INVALID_IMAGE_URL", "imageUrl"),
    ({"imageUrl": "https://user:pw@cdn.example.com/a.png"}, "INVALID_IMAGE_URL", "imageUrl"),
    ({"imageUrl": "https://cdn.example.com/a b.png"}, "INVALID_IMAGE_URL", "imageUrl"),
    ({"imageUrl": "https://cdn.example.com:99999/a.png"}, "INVALID_IMAGE_URL", "imageUrl"),
    ({"imageUrl": "https://[::1/a.png"}, "INVALID_IMAGE_URL", "imageUrl"),
    ({"imageUrl": "https://cdn.example.com/ä.png"}, "INVALID_IMAGE_URL", "imageUrl"),
]


@pytest.mark.parametrize(("fields", "code", "field"), OVER)
async def test_one_step_over_a_limit_is_a_typed_error_and_nothing_is_stored(
    api, database, fields, code, field
):
    before = await state(database)
    body = await api(CREATE, offer_input(**fields), MIA)
    assert "errors" not in body, body
    errors = body["data"]["createOffer"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [(code, field)]
    assert await state(database) == before


@pytest.mark.parametrize("fields", [{"pointsCost": 2**31}, {"stock": "ten"}, {"kind": "FREE_CAR"}])
async def test_values_outside_the_schema_are_bad_user_input(api, fields):
    body = await api(CREATE, offer_input(**fields), MIA)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_arabic_text_is_stored_exactly_as_given_after_nfc(api):
    decomposed = "e\u0301"  # é in NFD becomes one code point
    title = "عرض خاص: خصم ٢٠٪ على الأحذية (Sneakers)"
    offer_id = await create(
        api, texts=[{"language": "en", "title": decomposed}, {"language": "ar", "title": title}]
    )
    body = await api(
        "query($id: ID!) { offer(id: $id) { texts { language title } } }", {"id": offer_id}, MIA
    )
    texts = {t["language"]: t["title"] for t in body["data"]["offer"]["texts"]}
    assert texts == {"en": "\u00e9", "ar": title}
