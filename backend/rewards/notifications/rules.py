"""Pure notification rules: kinds and their templates, rendering, device tokens, quiet hours,
the marketing cap and the retry schedule of pushes."""

from __future__ import annotations

import enum
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.db.tables import Device, Notification
from backend.rewards.errors import DomainError
from backend.rewards.text import TextField, best_language, clip, width

FALLBACK_LANGUAGE = "en"
LANGUAGES = ("en", "ar", "uk", "nl")
MAX_DEVICES = 10  # per member; registering one more drops the one seen longest ago
MAX_FCM_BATCH = 500  # FCM's `send_each` refuses more messages in one call
CAP_WINDOW = timedelta(days=7)
REWARD = "reward"  # templates may name the reward description, in the member's language
TOKEN_WIDTH = width(Device, "token")
APP_VERSION = TextField(
    "INVALID_APP_VERSION", "appVersion", "The app version", width(Device, "app_version")
)


class Category(enum.StrEnum):
    """Transactional pushes answer something the member did; marketing ones need consent."""

    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


class Kind(enum.StrEnum):
    """What a notification is about."""

    POINTS_EARNED = "POINTS_EARNED"
    VOUCHER_ISSUED = "VOUCHER_ISSUED"
    TIER_REACHED = "TIER_REACHED"
    SURPRISE = "SURPRISE"
    DRAW_WON = "DRAW_WON"
    BIRTHDAY_POINTS = "BIRTHDAY_POINTS"
    BIRTHDAY_VOUCHER = "BIRTHDAY_VOUCHER"
    POINTS_EXPIRING = "POINTS_EXPIRING"
    TIER_NUDGE = "TIER_NUDGE"
    CLUB_RENEWAL = "CLUB_RENEWAL"


class PushStatus(enum.StrEnum):
    """What became of a notification's push when it was created."""

    QUEUED = "QUEUED"
    NO_DEVICE = "NO_DEVICE"
    NO_CONSENT = "NO_CONSENT"
    CAPPED = "CAPPED"


class Platform(enum.StrEnum):
    """Where a device token comes from."""

    IOS = "IOS"
    ANDROID = "ANDROID"
    WEB = "WEB"


@dataclass(frozen=True)
class Template:
    """A kind's category, deep link and texts by language (English always present)."""

    category: Category
    deep_link: str
    texts: Mapping[str, tuple[str, str]]

    @property
    def params(self) -> frozenset[str]:
        """The parameters the texts and the deep link name."""
        pieces = [self.deep_link, *(part for pair in self.texts.values() for part in pair)]
        parsed = (string.Formatter().parse(piece) for piece in pieces)
        return frozenset(name for fields in parsed for _, name, _, _ in fields if name)


TEMPLATES: dict[Kind, Template] = {
    Kind.POINTS_EARNED: Template(
        Category.TRANSACTIONAL,
        "rewards://points",
        {
            "en": ("You earned {points} points", "Order {order} earned you {points} points."),
            "ar": ("لقد ربحت {points} نقطة", "حصلت على {points} نقطة من الطلب {order}."),
            "uk": ("Ви отримали {points} балів", "Замовлення {order} принесло вам {points} балів."),
            "nl": ("Je hebt {points} punten verdiend", "Bestelling {order} leverde je {points} punten op."),
        },
    ),
    Kind.VOUCHER_ISSUED: Template(
        Category.TRANSACTIONAL,
        "rewards://vouchers/{voucher_id}",
        {
            "en": ("A voucher for you", "{reward} is in your wallet. Show the code in store or use it online."),
            "ar": ("قسيمة لك", "{reward} في محفظتك الآن. أظهر الرمز في المتجر أو استخدمه عبر الإنترنت."),
            "uk": ("Ваучер для вас", "{reward} вже у вашому гаманці. Покажіть код у магазині або використайте його онлайн."),
            "nl": ("Een voucher voor jou", "{reward} staat in je wallet. Laat de code zien in de winkel of gebruik hem online."),
        },
    ),
    Kind.TIER_REACHED: Template(
        Category.TRANSACTIONAL,
        "rewards://tier",
        {
            "en": ("Welcome to {tier}", "You reached {tier}: more points on every purchase and new perks."),
            "ar": ("مرحبًا بك في {tier}", "لقد وصلت إلى {tier}: نقاط أكثر مع كل عملية شراء ومزايا جديدة."),
            "uk": ("Вітаємо на рівні {tier}", "Ви досягли рівня {tier}: більше балів за кожну покупку та нові переваги."),
            "nl": ("Welkom bij {tier}", "Je hebt {tier} bereikt: meer punten bij elke aankoop en nieuwe voordelen."),
        },
    ),
    Kind.SURPRISE: Template(
        Category.MARKETING,
        "rewards://inbox",
        {
            "en": ("A surprise for you", "{message}"),
            "ar": ("مفاجأة لك", "{message}"),
            "uk": ("Сюрприз для вас", "{message}"),
            "nl": ("Een verrassing voor jou", "{message}"),
        },
    ),
    Kind.DRAW_WON: Template(
        Category.TRANSACTIONAL,
        "rewards://draws/{draw_id}",
        {
            "en": ("You won the draw!", "Your ticket was drawn: {reward} is yours. We will be in touch about your prize."),
            "ar": ("لقد فزت في السحب!", "تم سحب تذكرتك: {reward} لك. سنتواصل معك بشأن جائزتك."),
            "uk": ("Ви виграли розіграш!", "Ваш квиток витягнули: {reward} — ваш. Ми зв'яжемося з вами щодо призу."),
            "nl": ("Je hebt de trekking gewonnen!", "Jouw lot is getrokken: {reward} is voor jou. We nemen contact op over je prijs."),
        },
    ),
    Kind.BIRTHDAY_POINTS: Template(
        Category.TRANSACTIONAL,
        "rewards://points",
        {
            "en": ("Happy birthday!", "Here are {points} points from us to celebrate your day."),
            "ar": ("عيد ميلاد سعيد!", "إليك {points} نقطة منا احتفالًا بيومك."),
            "uk": ("З днем народження!", "Даруємо вам {points} балів, щоб відсвяткувати ваш день."),
            "nl": ("Gefeliciteerd met je verjaardag!", "Hier zijn {points} punten van ons om je dag te vieren."),
        },
    ),
    Kind.BIRTHDAY_VOUCHER: Template(
        Category.TRANSACTIONAL,
        "rewards://vouchers/{voucher_id}",
        {
            "en": ("Happy birthday!", "{reward} is in your wallet: our gift for your day."),
            "ar": ("عيد ميلاد سعيد!", "{reward} في محفظتك الآن: هديتنا لك في يومك."),
            "uk": ("З днем народження!", "{reward} вже у вашому гаманці: наш подарунок до вашого дня."),
            "nl": ("Gefeliciteerd met je verjaardag!", "{reward} staat in je wallet: ons cadeau voor jouw dag."),
        },
    ),
    Kind.POINTS_EXPIRING: Template(
        Category.TRANSACTIONAL,
        "rewards://points",
        {
            "en": ("Points expiring soon", "{points} of your points expire on {date}. Use them before then."),
            "ar": ("نقاط ستنتهي صلاحيتها قريبًا", "تنتهي صلاحية {points} من نقاطك في {date}. استخدمها قبل ذلك."),
            "uk": ("Бали скоро згорять", "{points} ваших балів згорять {date}. Використайте їх до цієї дати."),
            "nl": ("Punten verlopen binnenkort", "{points} van je punten verlopen op {date}. Gebruik ze voor die tijd."),
        },
    ),
    Kind.TIER_NUDGE: Template(
        Category.MARKETING,
        "rewards://tier",
        {
            "en": ("Almost {tier}", "Only {points} more points to reach {tier}."),
            "ar": ("اقتربت من {tier}", "تبقّى {points} نقطة فقط للوصول إلى {tier}."),
            "uk": ("Майже {tier}", "Лише {points} балів до рівня {tier}."),
            "nl": ("Bijna {tier}", "Nog maar {points} punten tot {tier}."),
        },
    ),
    Kind.CLUB_RENEWAL: Template(
        Category.TRANSACTIONAL,
        "rewards://clubs/{club_id}",
        {
            "en": ("Your {club} membership ends soon", "It ends on {date}. Renew to keep your perks."),
            "ar": ("عضويتك في {club} تنتهي قريبًا", "تنتهي في {date}. جدّدها للاحتفاظ بمزاياك."),
            "uk": ("Ваше членство в {club} скоро закінчиться", "Воно закінчується {date}. Продовжте, щоб зберегти свої переваги."),
            "nl": ("Je lidmaatschap van {club} loopt bijna af", "Het eindigt op {date}. Verleng om je voordelen te houden."),
        },
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Rendered:
    """A notification's texts in one language, fitted to their columns."""

    language: str
    title: str
    body: str
    deep_link: str
    reward: str | None


def render(
    kind: Kind,
    params: Mapping[str, object],
    *,
    locale: str,
    reward: Mapping[str, str] | None = None,
) -> Rendered:
    """Fill a kind's template in the member's language (English where it has none).

    `reward` describes what the member got, by language; the texts may quote it as `{reward}`.
    """
    template = TEMPLATES[kind]
    language = best_language(template.texts, locale, FALLBACK_LANGUAGE) or FALLBACK_LANGUAGE
    chosen = None
    if reward:
        chosen = (
            reward.get(language) or reward.get(FALLBACK_LANGUAGE) or next(iter(reward.values()))
        )
    values = {**params, REWARD: chosen} if chosen else dict(params)
    missing = template.params - set(values)
    if missing:
        raise ValueError(f"{kind} needs the parameters {sorted(missing)}")
    title, body = (text.format_map(values) for text in template.texts[language])
    return Rendered(
        language=language,
        title=clip(title, width(Notification, "title")),
        body=clip(body, width(Notification, "body")),
        deep_link=clip(template.deep_link.format_map(values), width(Notification, "deep_link")),
        reward=clip(chosen, width(Notification, "reward")) if chosen else None,
    )


def check_token(token: str) -> str:
    """An FCM registration token as given: 1 to 4096 printable ASCII characters, no spaces."""
    if not 0 < len(token) <= TOKEN_WIDTH or not all("!" <= char <= "~" for char in token):
        raise DomainError(
            "INVALID_TOKEN",
            f"A device token is 1 to {TOKEN_WIDTH} printable ASCII characters without spaces.",
            field="token",
        )
    return token


def parse_clock_time(value: str) -> time:
    """A program setting such as `21:00`."""
    return time.fromisoformat(value)


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Whether a local wall-clock time falls in [start, end), which may wrap past midnight."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def after_quiet_hours(moment: datetime, zone: ZoneInfo, start: time, end: time) -> datetime:
    """The first moment from `moment` (UTC) outside the member's quiet hours: deferred, never dropped."""
    local = moment.astimezone(zone)
    if not in_quiet_hours(local.time(), start, end):
        return moment
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    wake = datetime.combine(day, end, tzinfo=zone)
    # A wake time skipped by a daylight-saving jump resolves to the moment the clocks jumped to.
    return max(wake.astimezone(moment.tzinfo), moment)


def within_cap(pushed_in_window: int, cap: int) -> bool:
    """Whether one more marketing push fits the weekly cap."""
    return pushed_in_window < cap


def retry_delay(
    attempt: int, *, base: float, cap: float, jitter: float, retry_after: float | None
) -> float:
    """Seconds before the next try: exponential from `base`, at most `cap`, spread by `jitter`
    (0..1, so a crowd of failures does not come back at once), never sooner than FCM asked."""
    delay = min(cap, base * 2 ** (attempt - 1)) * (0.5 + jitter / 2)
    return float(max(delay, retry_after or 0.0))
