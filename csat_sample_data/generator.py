"""Clean, realistic sample deliveries for the four sources, at any scale (vectorised numpy + DuckDB).

`generate_sample_data(landing_dir)` writes `<landing>/<source>/<entity>/<file>` files that pass every
rule of `dagster_project.contract` and a `_generator_summary.json` with the expected counts.

Causal model (what the KPIs should find; every number below is a constant in this module)
------------------------------------------------------------------------------------------
Latent satisfaction of a customer: ``L = segment effect (vip +0.45, regular 0, new -0.15)
+ region effect (east +0.15, south +0.05, north 0, central -0.10, west -0.20)
+ 0.8 * quality of the customer's home store (N(0, 0.35) per store)
+ 0.25 * quality of the account manager (vip customers and 30% of regular ones have one)
+ N(0, 0.6)``.

Tickets (~60% complaints, the rest inquiries and requests). Complaints are drawn with weight
``exp(-0.9 L - 1.0 * store quality)``: unhappy customers and weak stores complain more. Each ticket
has an agent of quality ``a ~ N(0, 0.45)``. Severity sets the SLA (`SLA_FIRST_RESPONSE_HOURS`,
`SLA_RESOLUTION_HOURS`): first response ``target * exp(N(-0.5 - 0.6 a + 0.25 peak, 0.6))``,
resolution ``target * exp(N(-0.45 - 0.7 a + 0.3 peak + 0.3 escalated, 0.55))`` (peak = November and
December), escalation likelier for high/critical severity and weak agents, some complaints never
resolved (weak agents and stores, escalations), some reopened once or twice (weak agents), contacts
grow with slow resolution. Delivery complaints are more frequent in November-December. Tickets are
delivered as monthly JSON Lines snapshots: a ticket is delivered again in every later month in which
its state changed (first response, resolution, reopening, closure), so the last delivery wins.
A reopened ticket that is not re-resolved yet has status `reopened` and an empty resolved_at; once
re-resolved, resolved_at is the final resolution and reopen_count tells how often it was reopened.

Complaint experience feeds everything after it:
* surveys: penalty ``0.3 + 1.2 * unresolved at survey time + 0.6 * reopened + 0.5 * escalated
  + 0.6 * resolution SLA missed`` (a third of that for inquiries/requests), decaying with
  ``exp(-days since opened / 150)`` for later surveys, full for the support survey of that ticket.
  It lowers the SERVQUAL perceptions (reliability 1.0x, responsiveness 0.8x, assurance and
  empathy 0.4x) and so NPS, CSAT, CSI and effort;
* churn: a customer's first "bad" complaint (never resolved, reopened, escalated or SLA missed)
  multiplies the subscription hazard by 4 from then on (cancel_reason `unresolved_complaint` or
  `poor_service` when the end comes within 180 days of it);
* repurchase: order intensity is multiplied by 0.45 after a bad complaint and by 0.3 while the
  customer has no active subscription.

Surveys. Per response, five SERVQUAL dimension perceptions (latent) ``P_d = L + N(0, 0.9) + shifts``
(delivery surveys lose 1.4 reliability and 0.9 responsiveness times a holiday dip: December 1,
November 0.5, February 0.4 (Chinese New Year), January 0.25; complaint penalty as above; store-channel
surveys +0.2 tangibles). Overall satisfaction ``S = sum_d DRIVER_WEIGHTS[d] * P_d + N(0, 0.3)``,
with reliability the strongest driver, then responsiveness, assurance, empathy, tangibles.
Scores (rounded, clipped to the contract ranges): likelihood_to_recommend ``8.0 + 1.8 S + N(0, 0.9)``,
csat ``4.1 + 0.95 S + N(0, 0.55)`` (transactional touchpoints only), effort ``5.3 + 0.7 S
+ N(0, 1.0)`` (-0.6 for support surveys, none for relationship surveys), the three ACSI items
``7.6/7.2/6.8 + 1.6/1.5/1.4 S + noise``. 10% of responses carry the 22 SERVQUAL items:
perception ``5.0 + 0.95 P_d + N(0, 0.65)``, expectation ``6.0 (+0.35 vip) + N(0, 0.7)``, both 1-7.

Churn: one subscription per customer from signup, monthly hazard ~``1.2% * exp(-0.8 L)`` (new
customers x1.28), x4 after a bad complaint; 15% add a `delivery_pass` add-on, 25% of churned customers
come back later (win-back subscription). Detractors (low L) therefore churn more.

Orders: monthly count follows seasonality (`ORDER_SEASONALITY`: more in June, November, December) and
growth; each customer's share is ``exp(0.45 L) * (vip 2.0, regular 1.0, new 0.8)`` with the complaint
and churn factors above. Complaints about products, delivery, billing or price usually point at an
order placed shortly before. Refunds are likelier after a complaint. Purchase and delivery surveys
follow an order of the same month; support surveys follow a ticket's resolution.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from csat_sample_data import vocab
from csat_sample_data._io import (
    NA,
    LandingWriter,
    date_text,
    ident,
    lookup,
    nullable,
    to_int,
    ts_text,
)
from dagster_project import contract

SUMMARY_FILE = "_generator_summary.json"

# Key-driver weights of the five SERVQUAL dimensions on overall satisfaction (sum to 1). A key-driver
# analysis of the generated data must rank reliability first and tangibles last.
DRIVER_WEIGHTS: dict[str, float] = {
    "reliability": 0.36,
    "responsiveness": 0.24,
    "assurance": 0.18,
    "empathy": 0.13,
    "tangibles": 0.09,
}
SLA_FIRST_RESPONSE_HOURS = {"low": 24.0, "medium": 12.0, "high": 4.0, "critical": 1.0}
SLA_RESOLUTION_HOURS = {"low": 72.0, "medium": 48.0, "high": 24.0, "critical": 8.0}

REGIONS = ("north", "south", "east", "west", "central")
REGION_WEIGHTS = (0.20, 0.24, 0.28, 0.12, 0.16)
REGION_EFFECT = (0.0, 0.05, 0.15, -0.20, -0.10)
SEGMENTS = ("vip", "regular", "new")
SEGMENT_SHARE = (0.10, 0.60, 0.30)
SEGMENT_EFFECT = (0.45, 0.0, -0.15)
SEGMENT_ORDER_RATE = (2.0, 1.0, 0.8)
# How the CRM export spells the segments (staging lower-cases them); the changes file writes lower case.
SEGMENT_EXPORT_TEXT = ("VIP", "Regular", "New")
# Orders per month of year (January first); survey volume follows it with exponent 0.6.
ORDER_SEASONALITY = (0.95, 0.80, 0.95, 1.0, 1.0, 1.15, 0.95, 0.95, 1.0, 1.05, 1.40, 1.45)
# Holiday dip of the delivery experience per month of year.
DELIVERY_DIP = (0.25, 0.40, 0, 0, 0, 0, 0, 0, 0, 0, 0.50, 1.0)
ORDER_CHANNELS = ("store", "app", "web", "wechat")
PLANS = ("basic", "plus", "premium", "delivery_pass")
PLAN_PRICE = (19.0, 39.0, 79.0, 9.9)
CANCEL_REASONS = ("price", "competitor", "moved", "no_longer_needed", "poor_service", "unresolved_complaint")
SURVEY_CODES = {"purchase": "PUR", "delivery": "DEL", "support": "SUP", "onboarding": "ONB", "relationship": "REL"}

DAY = 86400
HOUR = 3600
BIRTH_FIRST_DAY, BIRTH_LAST_DAY = (
    (date(1955, 1, 1) - date(1970, 1, 1)).days,
    (date(2006, 6, 30) - date(1970, 1, 1)).days,
)
_DIMS = contract.SERVQUAL_DIMENSIONS  # tangibles, reliability, responsiveness, assurance, empathy
_W = np.array([DRIVER_WEIGHTS[d] for d in _DIMS])
_D_TAN, _D_REL, _D_RES, _D_ASS, _D_EMP = range(5)
_ITEM_PREFIX = {"tangibles": "TAN", "reliability": "REL", "responsiveness": "RES", "assurance": "ASS",
                "empathy": "EMP"}  # fmt: skip
ITEM_CODES: tuple[str, ...] = tuple(
    f"{_ITEM_PREFIX[d]}{i + 1}" for d in _DIMS for i in range(contract.SERVQUAL_ITEMS_PER_DIMENSION[d])
)
_ITEM_DIM = np.array([_DIMS.index(d) for d in _DIMS for _ in range(contract.SERVQUAL_ITEMS_PER_DIMENSION[d])])

_CH = contract.SURVEY_CHANNELS  # web, app, email, sms, phone, store, wechat, other
# How the survey tool spells channels: as the contract, except "WeChat" (staging lower-cases).
_CHANNEL_TEXT = tuple("WeChat" if c == "wechat" else c for c in _CH)
_TP = contract.TOUCHPOINTS  # purchase, delivery, support, onboarding, relationship
_CHANNEL_BY_TOUCHPOINT = np.array([
    [0.15, 0.25, 0.10, 0.05, 0.00, 0.25, 0.18, 0.02],
    [0.10, 0.30, 0.10, 0.20, 0.00, 0.00, 0.28, 0.02],
    [0.10, 0.15, 0.30, 0.10, 0.20, 0.00, 0.13, 0.02],
    [0.20, 0.35, 0.30, 0.00, 0.00, 0.00, 0.13, 0.02],
    [0.20, 0.15, 0.40, 0.05, 0.00, 0.00, 0.18, 0.02],
])  # fmt: skip
# Timestamp style per survey channel: web/app UTC "Z", store/wechat China time (+08:00), others naive.
_TS_STYLE_BY_CHANNEL = np.array([0, 0, 2, 2, 2, 1, 1, 2])


@dataclass
class GenerationSummary:
    files: list[Path]  # every data file written
    delivered: dict[str, int]  # rows written per entity (all files, duplicates across files included)
    distinct_keys: dict[str, int]  # distinct keys per entity = rows raw.<entity> must hold after loading
    landing_dir: Path | None = None
    parameters: dict = field(default_factory=dict)

    def to_json(self) -> str:
        def rel(p: Path) -> str:
            if self.landing_dir is not None:
                try:
                    return Path(p).relative_to(self.landing_dir).as_posix()
                except ValueError:
                    pass
            return Path(p).as_posix()

        return json.dumps(
            {
                "parameters": self.parameters,
                "delivered": self.delivered,
                "distinct_keys": self.distinct_keys,
                "files": [rel(p) for p in self.files],
            },
            indent=2,
            ensure_ascii=False,
        )


# ---------------------------------------------------------------------------------------------- helpers


def _epoch(d: datetime) -> int:
    return int(d.replace(tzinfo=UTC).timestamp())


def _month_starts(as_of: date, months: int) -> list[datetime]:
    """months + 1 month boundaries: the first day of each history month, then the first of as_of's month."""
    index = as_of.year * 12 + as_of.month - 1
    return [datetime((i // 12), i % 12 + 1, 1) for i in range(index - months, index + 1)]


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to weights that sum exactly to total (largest remainder)."""
    share = np.asarray(weights, dtype=float) / np.sum(weights) * total
    out = np.floor(share).astype(np.int64)
    rest = int(total - out.sum())
    if rest > 0:
        out[np.argsort(-(share - out), kind="stable")[:rest]] += 1
    return out


def _pick(rng: np.random.Generator, probs, n: int) -> np.ndarray:
    """n codes drawn from a small categorical distribution."""
    cdf = np.cumsum(np.asarray(probs, dtype=float))
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n), side="right"), len(cdf) - 1)


def _weighted_index(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """n indices into weights drawn with replacement, proportional to weights (zero never drawn)."""
    cdf = np.cumsum(weights, dtype=float)
    if n == 0 or cdf[-1] <= 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    return np.minimum(idx, len(cdf) - 1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _score(center: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return np.clip(np.rint(center), lo, hi).astype(np.int64)


def _flat(table: dict) -> tuple[list[str], dict]:
    """Flatten {key: (texts...)} to one list plus {key: (offset, count)}."""
    texts: list[str] = []
    where: dict = {}
    for key, values in table.items():
        where[key] = (len(texts), len(values))
        texts.extend(values)
    return texts, where


_CN_GIVEN = vocab.CN_GIVEN_FEMALE + vocab.CN_GIVEN_MALE
_EN_GIVEN = vocab.EN_GIVEN_FEMALE + vocab.EN_GIVEN_MALE
_CITY_LIST = [c for cities in vocab.CITIES for c in cities]
_CITY_OFFSET = np.cumsum([0] + [len(c) for c in vocab.CITIES])[:-1]
_CITY_COUNT = np.array([len(c) for c in vocab.CITIES])
_COMMENTS, _COMMENT_AT = _flat(vocab.COMMENTS)
_DESCRIPTIONS, _DESCRIPTION_AT = _flat(vocab.DESCRIPTIONS)
_LANGS = ("en", "zh")


def _names(rng: np.random.Generator, n: int, lang: np.ndarray, female: np.ndarray) -> dict[str, np.ndarray]:
    """Codes for a person's name: surname and given-name indices in the lists of their language."""
    n_cn_f, n_en_f = len(vocab.CN_GIVEN_FEMALE), len(vocab.EN_GIVEN_FEMALE)
    sur = np.where(lang == 1, rng.integers(0, len(vocab.CN_SURNAMES), n), rng.integers(0, len(vocab.EN_SURNAMES), n))
    given_cn = np.where(female, 0, n_cn_f) + rng.integers(0, n_cn_f, n)
    given_en = np.where(female, 0, n_en_f) + rng.integers(0, n_en_f, n)
    return {"lang": lang.astype(np.int64), "sur": sur, "given": np.where(lang == 1, given_cn, given_en)}


def _name_sql() -> str:
    cn = f"{lookup([s for s, _ in vocab.CN_SURNAMES], 'sur')} || {lookup([g for g, _ in _CN_GIVEN], 'given')}"
    en = f"{lookup(_EN_GIVEN, 'given')} || ' ' || {lookup(vocab.EN_SURNAMES, 'sur')}"
    return f"case when lang = 1 then {cn} else {en} end"


# ---------------------------------------------------------------------------------------------- main


def generate_sample_data(
    landing_dir: Path,
    *,
    seed: int = 42,
    responses: int = 20_000,
    months: int = 30,
    as_of: date = date(2026, 11, 1),
) -> GenerationSummary:
    """Write a clean multi-source delivery under landing_dir; see the module docstring for the model."""
    if months < 1:
        raise ValueError(f"months must be >= 1, got {months}")
    if responses < 100:
        raise ValueError(f"responses must be >= 100 to give every entity some rows, got {responses}")
    landing_dir = Path(landing_dir)
    landing_dir.mkdir(parents=True, exist_ok=True)
    gen = _Generator(landing_dir, seed=seed, responses=responses, months=months, as_of=as_of)
    try:
        summary = gen.run()
    finally:
        gen.out.close()
    (landing_dir / SUMMARY_FILE).write_text(summary.to_json() + "\n", encoding="utf-8")
    return summary


class _Generator:
    def __init__(self, landing_dir: Path, *, seed: int, responses: int, months: int, as_of: date) -> None:
        self.seed = seed
        self.rng = np.random.default_rng([seed, 0])
        self.out = LandingWriter(landing_dir)
        self.params = {"seed": seed, "responses": responses, "months": months, "as_of": as_of.isoformat()}
        starts = _month_starts(as_of, months)
        self.month_dt = starts
        self.ms = np.array([_epoch(d) for d in starts], dtype=np.int64)  # months + 1 boundaries
        self.M = months
        self.t0 = int(self.ms[0])  # history start
        self.t_end = int(self.ms[-1])  # first instant after the history (<= as_of)
        self.moy = np.array([d.month - 1 for d in starts[:-1]])  # month of year per history month
        self.labels = [d.strftime("%Y-%m") for d in starts[:-1]]
        self.n_resp = responses
        self.n_cust = max(40, responses // 4)
        self.n_orders = int(round(1.5 * responses))
        self.n_tickets = max(20, responses // 5)
        self.n_stores = min(200, 20 + self.n_cust // 2000)
        self.n_agents = int(np.clip(round(self.n_tickets / months / 120), 8, 600))
        self.distinct = {e.name: 0 for e in contract.ENTITIES}

    def sub_rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *key])

    def month_of(self, t: np.ndarray) -> np.ndarray:
        """History month index of epoch seconds (-1 before, M at/after the end); inf -> M."""
        t = np.where(np.isfinite(t), t, self.t_end + 1.0)
        return np.searchsorted(self.ms, t, side="right") - 1

    # ------------------------------------------------------------------------------------------ run
    def run(self) -> GenerationSummary:
        self.make_stores()
        self.make_employees()
        self.make_customers()
        self.make_tickets()
        self.make_subscriptions()
        self.orders_and_surveys()
        self.write_tickets()
        self.write_subscriptions()
        self.write_customers()
        self.write_stores()
        self.write_employees()
        return GenerationSummary(
            files=list(self.out.files),
            delivered=dict(self.out.delivered),
            distinct_keys=dict(self.distinct),
            landing_dir=self.out.landing_dir,
            parameters=self.params,
        )

    # ------------------------------------------------------------------------------------------ stores, staff
    def make_stores(self) -> None:
        rng = self.sub_rng(1)
        n = self.n_stores
        region = _pick(rng, REGION_WEIGHTS, n)
        region[: min(n, 2 * len(REGIONS))] = np.arange(min(n, 2 * len(REGIONS))) % len(REGIONS)
        self.store_region = region
        self.store_city = _CITY_OFFSET[region] + (rng.random(n) * _CITY_COUNT[region]).astype(np.int64)
        self.store_area = rng.integers(0, len(vocab.STORE_AREAS), n)
        self.store_q = rng.normal(0.0, 0.35, n)
        first, last = _epoch(datetime(2010, 1, 1)) // DAY, self.t0 // DAY - 60
        self.store_opened = rng.integers(first, last, n)
        self.stores_by_region = [np.flatnonzero(region == r) for r in range(len(REGIONS))]

    def make_employees(self) -> None:
        rng = self.sub_rng(2)
        n_s, n_a = self.n_stores, self.n_agents
        n = 3 * n_s + n_a
        # per store: account manager, two store staff; then the contact-centre agents
        role = np.concatenate([np.tile([1, 2, 2], n_s), np.zeros(n_a, dtype=np.int64)])
        store = np.concatenate([np.repeat(np.arange(n_s), 3), np.full(n_a, NA)])
        self.store_am = 3 * np.arange(n_s)  # employee index of each store's account manager
        self.am_q = rng.normal(0.0, 0.3, n_s)
        self.agent_emp = 3 * n_s + np.arange(n_a)
        self.agent_q = rng.normal(0.0, 0.45, n_a)
        lang = (rng.random(n) > 0.1).astype(np.int64)
        female = rng.random(n) < 0.5
        hired = rng.integers(_epoch(datetime(2014, 1, 1)) // DAY, self.t0 // DAY - 1, n)
        team_no = np.concatenate([np.full(3 * n_s, NA), np.arange(n_a) // 15])
        self.employees = {
            "idx": np.arange(n, dtype=np.int64), "role": role, "store": store.astype(np.int64),
            "region": np.concatenate([np.repeat(self.store_region, 3), np.full(n_a, NA)]),
            "team_no": team_no.astype(np.int64), "hired": hired, **_names(rng, n, lang, female),
        }  # fmt: skip

    # ------------------------------------------------------------------------------------------ customers
    def make_customers(self) -> None:
        rng = self.sub_rng(3)
        n = self.n_cust
        t0, t_end = self.t0, self.t_end
        seg = _pick(rng, SEGMENT_SHARE, n)
        recent = t_end - rng.uniform(HOUR, 365 * DAY, n)
        pre = t0 - rng.uniform(DAY, 5 * 365 * DAY, n)
        span = max(t_end - 30 * DAY - t0, DAY)
        during = t0 + rng.uniform(0, span, n)
        signup = np.where(seg == 2, recent, np.where(rng.random(n) < 0.4, pre, during))
        signup = np.minimum(signup, t_end - HOUR).astype(np.int64)
        region = _pick(rng, REGION_WEIGHTS, n)
        store = np.empty(n, dtype=np.int64)
        u = rng.random(n)
        for r, stores in enumerate(self.stores_by_region):
            sel = region == r
            pool = stores if len(stores) else np.arange(self.n_stores)
            store[sel] = pool[(u[sel] * len(pool)).astype(np.int64)]
        region = np.where(np.isin(region, [r for r, s in enumerate(self.stores_by_region) if len(s)]), region,
                          self.store_region[store])  # fmt: skip
        other_city = _CITY_OFFSET[region] + (rng.random(n) * _CITY_COUNT[region]).astype(np.int64)
        city = np.where(rng.random(n) < 0.85, self.store_city[store], other_city)
        has_am = (seg == 0) | ((seg == 1) & (rng.random(n) < 0.3))
        latent = (
            np.asarray(SEGMENT_EFFECT)[seg]
            + np.asarray(REGION_EFFECT)[region]
            + 0.8 * self.store_q[store]
            + 0.25 * np.where(has_am, self.am_q[store], 0.0)
            + rng.normal(0.0, 0.6, n)
        )
        lang = (rng.random(n) > 0.18).astype(np.int64)  # 1 = zh
        female = rng.random(n) < 0.52
        self.c = {
            "seg": seg, "signup": signup, "region": region, "store": store, "city": city, "has_am": has_am,
            "L": latent, "lang": lang, "female": female,
        }  # fmt: skip
        self.c_names = _names(rng, n, lang, female)
        self.c_extra = {
            "gender": np.where(rng.random(n) < 0.03, NA, np.where(female, 0, 1)),
            "birth": np.where(rng.random(n) < 0.04, NA, rng.integers(BIRTH_FIRST_DAY, BIRTH_LAST_DAY, n)),
            "email_no": np.where(rng.random(n) < 0.08, NA, rng.integers(1, 9999, n)),
            "domain": rng.integers(0, len(vocab.EMAIL_DOMAINS), n),
            "phone_a": np.where(rng.random(n) < 0.05, NA, rng.integers(30, 100, n)),
            "phone_b": rng.integers(0, 10000, n), "phone_c": rng.integers(0, 10000, n),
        }  # fmt: skip
        # customers sorted by signup, for "who had signed up by then" lookups
        self.c_by_signup = np.argsort(signup, kind="stable")
        self.c_signup_sorted = signup[self.c_by_signup]
        self.c_bad_t = np.full(n, np.inf)  # first bad complaint (set by make_tickets)

    # ------------------------------------------------------------------------------------------ tickets
    def make_tickets(self) -> None:
        rng = self.sub_rng(4)
        c = self.c
        n = self.n_tickets
        t0, t_end = self.t0, self.t_end
        ttype = _pick(rng, (0.6, 0.25, 0.15), n)
        is_c = ttype == 0
        start = np.maximum(c["signup"], t0).astype(float)
        exposure = np.maximum(t_end - start, HOUR)
        cust = np.empty(n, dtype=np.int64)
        cust[is_c] = _weighted_index(rng, exposure * np.exp(-0.9 * c["L"] - 1.0 * self.store_q[c["store"]]),
                                     int(is_c.sum()))  # fmt: skip
        cust[~is_c] = _weighted_index(rng, exposure, int((~is_c).sum()))
        lo = start[cust]
        opened = np.floor(lo + rng.random(n) * (t_end - HOUR - lo)).astype(np.int64)
        order = np.argsort(opened, kind="stable")  # ticket ids follow opening time
        ttype, is_c, cust, opened = ttype[order], is_c[order], cust[order], opened[order]
        moy = self.moy[np.clip(self.month_of(opened.astype(float)), 0, self.M - 1)]
        peak = np.isin(moy, (10, 11)).astype(float)
        channel = _pick(rng, (0.30, 0.20, 0.25, 0.05, 0.12, 0.08), n)
        cats = contract.TICKET_CATEGORIES  # product_quality, price, service_attitude, delivery, billing, env, other
        category = np.where(
            is_c,
            np.where(peak > 0, _pick(rng, (0.20, 0.08, 0.12, 0.38, 0.10, 0.05, 0.07), n),
                     _pick(rng, (0.25, 0.10, 0.15, 0.22, 0.12, 0.06, 0.10), n)),
            _pick(rng, (0.10, 0.05, 0.0, 0.20, 0.25, 0.0, 0.40), n),
        )  # fmt: skip
        severity = np.where(is_c, _pick(rng, (0.35, 0.37, 0.20, 0.08), n), _pick(rng, (0.70, 0.30), n))
        agent = rng.integers(0, self.n_agents, n)
        a = self.agent_q[agent]
        store_q = self.store_q[c["store"][cust]]
        escalated = rng.random(n) < np.where(
            is_c, _sigmoid(-2.3 + 1.0 * (severity >= 2) + 0.9 * (severity == 3) - 0.9 * a), 0.01
        )
        fr_target = np.array(list(SLA_FIRST_RESPONSE_HOURS.values()))[severity]
        res_target = np.array(list(SLA_RESOLUTION_HOURS.values()))[severity]
        fr_h = fr_target * np.exp(rng.normal(-0.5 - 0.6 * a + 0.25 * peak, 0.6))
        res_h = res_target * np.exp(rng.normal(-0.45 - 0.7 * a + 0.3 * peak + 0.3 * escalated, 0.55))
        res_h = np.maximum(res_h, fr_h + 0.25)
        never = rng.random(n) < np.where(is_c, _sigmoid(-3.3 - 1.2 * a - 0.8 * store_q + 0.8 * escalated), 0.01)
        no_fr = never & (rng.random(n) < 0.3)
        k1 = ~never & (rng.random(n) < np.where(is_c, _sigmoid(-2.5 - 0.9 * a), 0.02))
        k2 = k1 & (rng.random(n) < 0.25)
        inf = np.inf
        o = opened.astype(float)
        fr = np.where(no_fr, inf, o + np.floor(fr_h * HOUR))
        r1 = np.where(never, inf, o + np.floor(res_h * HOUR))
        o1 = np.where(k1, r1 + 2 * HOUR + np.floor(rng.exponential(3 * DAY, n)), inf)
        r2 = np.where(k1, o1 + HOUR + np.floor(0.6 * res_h * HOUR), inf)
        o2 = np.where(k2, r2 + 2 * HOUR + np.floor(rng.exponential(3 * DAY, n)), inf)
        r3 = np.where(k2, o2 + HOUR + np.floor(0.5 * res_h * HOUR), inf)
        final = np.where(k2, r3, np.where(k1, r2, r1))
        close = np.where(rng.random(n) < 0.85, final + np.floor(rng.uniform(DAY, 7 * DAY, n)), inf)
        events = {"fr": fr, "r1": r1, "o1": o1, "r2": r2, "o2": o2, "r3": r3, "close": close}
        for k, v in events.items():  # nothing after the history end has happened yet
            events[k] = np.where(v < t_end, v, inf)
        final = np.where(final < t_end, final, inf)
        breach = np.isfinite(final) & (final - o > res_target * HOUR)
        extra = rng.poisson(0.25 + 0.3 * np.minimum(res_h / res_target, 3) + 0.6 * escalated)
        lang = c["lang"][cust]
        at = np.array([_DESCRIPTION_AT[(_LANGS[lg], cats[ct])] for lg in (0, 1) for ct in range(len(cats))])
        key = lang * len(cats) + category
        pick = at[key, 0] + (rng.random(n) * at[key, 1]).astype(np.int64)
        description = np.where(rng.random(n) < 0.05, NA, pick)
        self.t = {
            "ttype": ttype, "is_c": is_c, "cust": cust, "opened": opened, "channel": channel, "category": category,
            "severity": severity, "agent": agent, "escalated": escalated, "k1": k1, "k2": k2,
            "extra": extra, "wait": rng.random(n) < 0.4, "breach": breach, "final": final, "never": never,
            "description": description, **events,
        }  # fmt: skip
        # complaint experience -> the customer's first bad complaint
        bad = is_c & (never | k1 | escalated | breach)
        np.minimum.at(self.c_bad_t, cust[bad], o[bad] + DAY)
        # complaints of a customer in (customer, opened) order, for "latest complaint before t"
        comp = np.flatnonzero(is_c)
        key = (cust[comp].astype(np.int64) << 32) | (opened[comp] - t0)
        sort = np.argsort(key, kind="stable")
        self.comp_idx, self.comp_key = comp[sort], key[sort]
        # orders that complaints point at (placed 6 h - 10 days before the ticket)
        link = np.where(is_c, np.isin(category, (0, 1, 3, 4)) & (rng.random(n) < 0.75), rng.random(n) < 0.2)
        link_t = o - np.floor(rng.uniform(6 * HOUR, 10 * DAY, n))
        link &= link_t >= start[cust]
        self.t_link_t = link_t
        self.t_link_month = np.where(link, self.month_of(link_t), -1)
        self.t_order = np.full(n, NA, dtype=np.int64)
        # support surveys: after the final resolution, or a week or two into an unresolved ticket
        trig = np.where(np.isfinite(final), final + np.floor(rng.uniform(HOUR, 2 * DAY, n)),
                        o + np.floor(rng.uniform(5 * DAY, 20 * DAY, n)))  # fmt: skip
        self.t_survey_t = trig
        self.t_survey_month = np.where(trig < t_end, self.month_of(trig), -1)
        self.distinct["tickets"] = n

    def ticket_penalty(self, tix: np.ndarray, at: np.ndarray) -> np.ndarray:
        """How much a ticket's experience, as known at time `at`, lowers satisfaction (no decay)."""
        t = self.t
        unresolved = ~(t["final"][tix] < at)
        pen = (
            0.3
            + 1.2 * unresolved
            + 0.6 * (t["k1"][tix] & (t["o1"][tix] < at))
            + 0.5 * t["escalated"][tix]
            + 0.6 * (t["breach"][tix] & ~unresolved)
        )
        return np.where(t["is_c"][tix], pen, pen / 3)

    def complaint_penalty(self, cust: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Penalty of each customer's latest complaint opened before `at`, decaying over 150 days."""
        if len(self.comp_key) == 0 or len(cust) == 0:
            return np.zeros(len(cust))
        key = (cust.astype(np.int64) << 32) | (np.maximum(at, self.t0).astype(np.int64) - self.t0)
        j = np.searchsorted(self.comp_key, key, side="left") - 1
        jj = np.maximum(j, 0)
        hit = (j >= 0) & ((self.comp_key[jj] >> 32) == cust)
        tix = self.comp_idx[jj]
        age_days = (at - self.t["opened"][tix]) / DAY
        pen = self.ticket_penalty(tix, at) * np.exp(-np.maximum(age_days, 0) / 150.0)
        return np.where(hit, pen, 0.0)

    # ------------------------------------------------------------------------------------------ subscriptions
    def make_subscriptions(self) -> None:
        rng = self.sub_rng(5)
        c = self.c
        n = self.n_cust
        t0, t_end = self.t0, self.t_end
        inf = np.inf
        signup = c["signup"].astype(float)
        start = signup + np.floor(np.minimum(rng.uniform(0, 2 * DAY, n), (t_end - signup) / 2))
        hazard = 0.0004 * np.exp(-0.8 * c["L"] + 0.25 * (c["seg"] == 2))  # per day
        clock = np.maximum(start, t0)
        end = clock + np.floor(rng.exponential(1.0 / hazard) * DAY)
        bad = self.c_bad_t
        hit = (bad > clock) & (bad < end)
        end = np.where(hit, bad + np.floor(rng.exponential(1.0 / (4 * hazard)) * DAY), end)
        end = np.where(end < t_end, end, inf)
        plan_probs = {0: (0.1, 0.3, 0.6), 1: (0.35, 0.45, 0.2), 2: (0.55, 0.35, 0.1)}
        plan = np.empty(n, dtype=np.int64)
        for s, p in plan_probs.items():
            sel = c["seg"] == s
            plan[sel] = _pick(rng, p, int(sel.sum()))
        with np.errstate(invalid="ignore"):
            complaint_end = np.isfinite(end) & (bad <= end) & (end - bad < 180 * DAY)
        reason = np.where(
            complaint_end,
            np.where(rng.random(n) < 0.6, 5, 4),
            _pick(rng, (0.3, 0.2, 0.15, 0.2, 0.15), n),
        )
        # add-on delivery pass
        a_sel = rng.random(n) < np.where(c["seg"] == 0, 0.35, 0.12)
        a_start = start + np.floor(rng.uniform(0, 300 * DAY, n))
        a_sel &= (a_start < t_end) & (a_start < end)
        a_end = np.where(rng.random(n) < 0.3, a_start + np.floor(rng.exponential(200 * DAY, n)), end)
        a_end = np.minimum(a_end, end)
        a_end = np.where(a_end < t_end, a_end, inf)
        a_reason = np.where(a_end == end, reason, 3)
        # win-back: a quarter of churned customers subscribe again later
        w_sel = np.isfinite(end) & (rng.random(n) < 0.25)
        w_start = end + np.floor(rng.uniform(30 * DAY, 240 * DAY, n))
        w_sel &= w_start < t_end
        w_end = w_start + np.floor(rng.exponential(1.0 / (2 * hazard)) * DAY)
        w_end = np.where(w_end < t_end, w_end, inf)
        w_plan = _pick(rng, (0.6, 0.4), n)
        w_reason = _pick(rng, (0.3, 0.2, 0.15, 0.2, 0.15), n)
        idx = np.arange(n)
        cust = np.concatenate([idx, idx[a_sel], idx[w_sel]])
        s_start = np.concatenate([start, a_start[a_sel], w_start[w_sel]])
        s_end = np.concatenate([end, a_end[a_sel], w_end[w_sel]])
        s_plan = np.concatenate([plan, np.full(int(a_sel.sum()), 3), w_plan[w_sel]])
        s_reason = np.concatenate([reason, a_reason[a_sel], w_reason[w_sel]])
        discount = np.array([0.0, 0.1, 0.2])[_pick(rng, (0.75, 0.15, 0.10), len(cust))]
        mrr = np.round(np.asarray(PLAN_PRICE)[s_plan] * (1 - discount), 2)
        order = np.argsort(s_start, kind="stable")
        self.s = {
            "cust": cust[order], "start": s_start[order].astype(np.int64), "end": s_end[order],
            "plan": s_plan[order], "reason": s_reason[order], "mrr": mrr[order],
        }  # fmt: skip
        # customer activity for the order model
        self.c_churn_t = end
        self.c_return_t = np.where(w_sel, w_start, inf)
        self.c_churn2_t = np.where(w_sel, w_end, inf)
        self.distinct["subscriptions"] = len(cust)

    # ------------------------------------------------------------------------------------------ orders + surveys
    def orders_and_surveys(self) -> None:
        M = self.M
        growth = 0.8 + 0.4 * np.arange(M) / max(M - 1, 1)
        season = np.asarray(ORDER_SEASONALITY)[self.moy]
        order_target = _allocate(self.n_orders, season * growth)
        resp_target = _allocate(self.n_resp, season**0.6 * growth)
        c = self.c
        base_w = np.exp(0.45 * c["L"]) * np.asarray(SEGMENT_ORDER_RATE)[c["seg"]]
        self.next_order = 0
        self.next_response = 0
        self.next_followup = 0
        self.carry: dict[str, np.ndarray] | None = None
        for k in range(M):
            orders = self.month_orders(k, int(order_target[k]), base_w)
            self.month_surveys(k, int(resp_target[k]), orders)

    def month_orders(self, k: int, target: int, base_w: np.ndarray) -> dict[str, np.ndarray]:
        rng = self.sub_rng(100, k)
        c = self.c
        s, e = float(self.ms[k]), float(self.ms[k + 1])
        linked = np.flatnonzero(self.t_link_month == k)
        n_reg = max(0, target - len(linked))
        act = np.maximum(c["signup"], s)
        frac = np.clip((e - act) / (e - s), 0.0, 1.0)
        churned = (self.c_churn_t < s) & ~((self.c_return_t <= s) & (self.c_churn2_t > s))
        w = base_w * frac * np.where(self.c_bad_t < s, 0.45, 1.0) * np.where(churned, 0.3, 1.0)
        reg_c = _weighted_index(rng, w, n_reg)
        reg_t = act[reg_c] + rng.random(len(reg_c)) * (e - act[reg_c])
        cust = np.concatenate([self.t["cust"][linked], reg_c])
        when = np.floor(np.concatenate([self.t_link_t[linked], reg_t])).astype(np.int64)
        ticket = np.concatenate([linked, np.full(len(reg_c), -1)])
        order = np.argsort(when, kind="stable")
        cust, when, ticket = cust[order], when[order], ticket[order]
        n = len(cust)
        oid = self.next_order + np.arange(n, dtype=np.int64)
        self.next_order += n
        has_t = ticket >= 0
        self.t_order[ticket[has_t]] = oid[has_t]
        complaint = has_t & self.t["is_c"][np.maximum(ticket, 0)]
        channel = _pick(rng, (0.35, 0.30, 0.15, 0.20), n)
        store = np.where(rng.random(n) < 0.85, c["store"][cust], rng.integers(0, self.n_stores, n))
        category = _pick(rng, (0.15, 0.2, 0.22, 0.15, 0.18, 0.10), n)
        amount = np.asarray(vocab.PRODUCT_MEDIAN_AMOUNT)[category] * np.exp(rng.normal(0.0, 0.6, n))
        amount = np.round(amount * np.where(c["seg"][cust] == 0, 1.3, 1.0), 2)
        u = rng.random(n)
        p_refund = 0.03 + 0.12 * complaint + 0.02 * (c["L"][cust] < -0.5)
        final = np.where(u < 0.04, 2, np.where(u < 0.04 + p_refund, 3, 0))  # completed/cancelled/refunded
        done = when + HOUR + np.floor(rng.exponential(1.5 * DAY, n)).astype(np.int64)
        rows = {"oid": oid, "cust": cust, "when": when, "channel": channel, "store": store,
                "category": category, "amount": amount, "final": final, "done": done}  # fmt: skip
        rows["status"] = np.where(done >= e, 1, final)
        # re-deliver last months' pending orders once they are settled
        parts = [rows]
        pending_next = [{k_: v[done >= e] for k_, v in rows.items()}]
        if self.carry is not None and len(self.carry["oid"]):
            settled = self.carry["done"] < e
            upd = {k_: v[settled] for k_, v in self.carry.items()}
            upd["status"] = upd["final"]
            parts.append(upd)
            pending_next.append({k_: v[~settled] for k_, v in self.carry.items()})
        self.carry = {k_: np.concatenate([p[k_] for p in pending_next]) for k_ in pending_next[0]}
        data = {
            k_: np.concatenate([p[k_] for p in parts])
            for k_ in ("oid", "cust", "when", "status", "channel", "store", "category", "amount")
        }
        total = len(data["oid"])
        sql = f"""
            select {ident("O", "oid", 10)} as order_id,
                   {ident("C", "cust", 8)} as customer_id,
                   make_timestamp("when" * 1000000)::timestamptz as ordered_at,
                   {lookup(contract.ORDER_STATUSES, "status")} as status,
                   {lookup(ORDER_CHANNELS, "channel")} as channel,
                   {ident("S", "store", 3)} as store_id,
                   {lookup(vocab.PRODUCT_CATEGORIES, "category")} as product_category,
                   amount::decimal(18, 2) as amount,
                   'CNY' as currency
            from chunk"""
        self.out.write("orders", f"{self.labels[k]}_orders.parquet", data, sql, "parquet", total)
        self.distinct["orders"] += n
        return rows

    def month_surveys(self, k: int, n_k: int, orders: dict[str, np.ndarray]) -> None:
        rng = self.sub_rng(200, k)
        c, t = self.c, self.t
        s, e = float(self.ms[k]), float(self.ms[k + 1])
        # support surveys follow tickets
        cands = np.flatnonzero(self.t_survey_month == k)
        n_sup = min(int(rng.binomial(len(cands), 0.45)) if len(cands) else 0, int(round(0.3 * n_k)))
        sup = np.sort(rng.choice(cands, n_sup, replace=False)) if n_sup else np.zeros(0, dtype=np.int64)
        counts = rng.multinomial(n_k - n_sup, (0.42, 0.30, 0.08, 0.20))  # purchase, delivery, onboarding, rel.
        n_ord = len(orders["oid"])
        n_pd = int(counts[0] + counts[1]) if n_ord else 0
        if not n_ord:
            counts[3] += counts[0] + counts[1]
        # onboarding: customers who signed up in the last few weeks
        lo_i = np.searchsorted(self.c_signup_sorted, s - 20 * DAY)
        hi_i = np.searchsorted(self.c_signup_sorted, e - HOUR)
        if hi_i <= lo_i:
            counts[3] += counts[2]
            counts[2] = 0
        n_known = max(int(np.searchsorted(self.c_signup_sorted, e - HOUR)), 1)
        # purchase / delivery
        pick = rng.choice(n_ord, n_pd, replace=n_pd > n_ord) if n_pd else np.zeros(0, dtype=np.int64)
        tp_pd = np.where(np.arange(n_pd) < counts[0], 0, 1)
        ot = orders["when"][pick].astype(float)
        lag = np.where(tp_pd == 0, 600 + rng.exponential(12 * HOUR, n_pd), DAY + rng.exponential(1.5 * DAY, n_pd))
        sub_pd = np.where(ot + lag < e, ot + lag, ot + (e - ot) * rng.random(n_pd))
        # onboarding / relationship
        n_on, n_rel = int(counts[2]), int(counts[3])
        on_c = self.c_by_signup[lo_i + rng.integers(0, max(hi_i - lo_i, 1), n_on)] if n_on else np.zeros(0, int)
        rel_c = self.c_by_signup[rng.integers(0, n_known, n_rel)]
        other_c = np.concatenate([on_c, rel_c])
        lo = np.maximum(s, c["signup"][other_c] + np.where(np.arange(len(other_c)) < n_on, HOUR, 0))
        lo = np.minimum(lo, e - 1)
        sub_other = lo + rng.random(len(other_c)) * (e - lo)
        # all together
        cust = np.concatenate([t["cust"][sup], orders["cust"][pick], other_c])
        sub = np.floor(np.concatenate([self.t_survey_t[sup], sub_pd, sub_other])).astype(np.int64)
        tp = np.concatenate([np.full(n_sup, 2), tp_pd, np.full(n_on, 3), np.full(n_rel, 4)])
        ticket = np.concatenate([sup, np.full(n_pd + n_on + n_rel, -1)])
        order_id = np.concatenate([np.full(n_sup, NA), orders["oid"][pick], np.full(n_on + n_rel, NA)])
        order = np.argsort(sub, kind="stable")
        cust, sub, tp, ticket, order_id = cust[order], sub[order], tp[order], ticket[order], order_id[order]
        n = len(cust)
        anonymous = (tp != 2) & (rng.random(n) < 0.08)
        channel = np.empty(n, dtype=np.int64)
        for j in range(len(_TP)):
            sel = tp == j
            channel[sel] = _pick(rng, _CHANNEL_BY_TOUCHPOINT[j], int(sel.sum()))
        # satisfaction
        is_sup = tp == 2
        pen = self.complaint_penalty(cust, sub.astype(float))
        if is_sup.any():
            pen[is_sup] = self.ticket_penalty(ticket[is_sup], sub[is_sup].astype(float))
        perception = c["L"][cust][:, None] + rng.normal(0.0, 0.9, (n, 5))
        dip = np.asarray(DELIVERY_DIP)[self.moy[k]] * (tp == 1)
        perception[:, _D_REL] -= 1.4 * dip + 1.0 * pen
        perception[:, _D_RES] -= 0.9 * dip + 0.8 * pen + 0.2 * is_sup
        perception[:, _D_ASS] -= 0.4 * pen
        perception[:, _D_EMP] -= 0.4 * pen
        perception[:, _D_TAN] += 0.2 * (channel == 5)
        sat = perception @ _W + rng.normal(0.0, 0.3, n)
        miss = rng.random((n, 6))
        transactional = tp <= 2
        ltr = np.where(miss[:, 0] < 0.02, NA, _score(8.0 + 1.8 * sat + rng.normal(0, 0.9, n), 0, 10))
        csat = np.where(
            transactional & (miss[:, 1] > 0.01), _score(4.1 + 0.95 * sat + rng.normal(0, 0.55, n), 1, 5), NA
        )
        effort_c = 5.3 + 0.7 * sat + rng.normal(0, 1.0, n) - 0.6 * is_sup
        effort = np.where((tp != 4) & (miss[:, 2] > 0.02), _score(effort_c, 1, 7), NA)
        overall = np.where(miss[:, 3] < 0.015, NA, _score(7.6 + 1.6 * sat + rng.normal(0, 0.7, n), 1, 10))
        confirm = np.where(miss[:, 4] < 0.015, NA, _score(7.2 + 1.5 * sat + rng.normal(0, 0.85, n), 1, 10))
        ideal = np.where(miss[:, 5] < 0.015, NA, _score(6.8 + 1.4 * sat + rng.normal(0, 0.95, n), 1, 10))
        lang = c["lang"][cust]
        ltr_for_tone = np.where(ltr == NA, np.rint(8.0 + 1.8 * sat), ltr)
        tone = np.where(ltr_for_tone <= 6, 0, np.where(ltr_for_tone <= 8, 1, 2))
        has_comment = rng.random(n) < np.where(tone == 0, 0.45, 0.25)
        at = np.array([_COMMENT_AT[(_LANGS[lg], tn)] for lg in (0, 1) for tn in (0, 1, 2)])
        ck = lang * 3 + tone
        comment = np.where(has_comment, at[ck, 0] + (rng.random(n) * at[ck, 1]).astype(np.int64), NA)
        rid = self.next_response + np.arange(n, dtype=np.int64)
        self.next_response += n
        data = {
            "rid": rid, "tp": tp, "cust": np.where(anonymous, NA, cust), "sub": sub, "channel": channel,
            "style": _TS_STYLE_BY_CHANNEL[channel], "ltr": ltr, "csat": csat, "effort": effort,
            "overall": overall, "confirm": confirm, "ideal": ideal,
            "oid": np.where(anonymous, NA, order_id), "tid": np.where(ticket >= 0, ticket, NA),
            "lang": lang, "comment": comment,
        }  # fmt: skip
        codes = [SURVEY_CODES[x] for x in _TP]
        sql = f"""
            select {ident("R", "rid", 9)} as response_id,
                   'SV-' || {lookup(codes, "tp")} || '-' || year(make_timestamp(sub * 1000000))::varchar as survey_id,
                   {ident("C", "cust", 8)} as customer_id,
                   {ts_text("sub", "style")} as submitted_at,
                   {lookup(_CHANNEL_TEXT, "channel")} as channel,
                   {lookup(_TP, "tp")} as touchpoint,
                   {nullable("ltr")} as likelihood_to_recommend,
                   {nullable("csat")} as csat_score,
                   {nullable("effort")} as effort_score,
                   {nullable("overall")} as overall_satisfaction,
                   {nullable("confirm")} as expectation_confirmation,
                   {nullable("ideal")} as ideal_comparison,
                   {ident("O", "oid", 10)} as order_id,
                   {ident("T", "tid", 9)} as ticket_id,
                   {lookup(_LANGS, "lang")} as language,
                   {lookup(_COMMENTS, "comment")} as comment,
                   case when channel = 6 then 'wechat_mini_program' else 'survey_platform' end as source_system
            from chunk"""
        self.out.write("survey_responses", f"{self.labels[k]}_survey_responses.csv", data, sql, "csv", n)
        self.distinct["survey_responses"] += n
        self.month_followups(k, rid, np.where(anonymous, NA, cust), sub, ltr)
        # SERVQUAL items for 10% of the responses
        has_items = rng.random(n) < 0.10
        m = int(has_items.sum())
        if m:
            p = perception[has_items][:, _ITEM_DIM]  # (m, 22)
            vip = (c["seg"][cust[has_items]] == 0)[:, None]
            perc = _score(5.0 + 0.95 * p + rng.normal(0, 0.65, p.shape), 1, 7)
            expect = _score(6.0 + 0.35 * vip + rng.normal(0, 0.7, p.shape), 1, 7)
            items = {
                "rid": np.repeat(rid[has_items], len(ITEM_CODES)),
                "item": np.tile(np.arange(len(ITEM_CODES)), m),
                "expect": expect.ravel(),
                "perc": perc.ravel(),
            }
            sql = f"""
                select {ident("R", "rid", 9)} as response_id,
                       {lookup(ITEM_CODES, "item")} as item_code,
                       expect::integer as expectation_score,
                       perc::integer as perception_score
                from chunk"""
            rows = m * len(ITEM_CODES)
            self.out.write("survey_item_scores", f"{self.labels[k]}_survey_item_scores.parquet", items, sql,
                           "parquet", rows)  # fmt: skip
            self.distinct["survey_item_scores"] += rows

    def month_followups(self, k: int, rid: np.ndarray, cust: np.ndarray, sub: np.ndarray, ltr: np.ndarray) -> None:
        """Closed loop: 60% of the month's identified detractors (likelihood to recommend 0-6) are called
        back by a contact-centre agent 1 hour to 3 days later, within the month. Its own random stream,
        so the other entities do not change."""
        rng = self.sub_rng(900, k)
        detractor = (ltr != NA) & (ltr <= 6) & (cust != NA)
        picked = np.flatnonzero(detractor & (rng.random(len(rid)) < 0.6))
        if not len(picked):
            return
        n = len(picked)
        end = int(self.ms[k + 1]) - 1
        at = np.minimum(sub[picked] + HOUR + (rng.random(n) * 3 * DAY).astype(np.int64), end)
        data = {
            "fid": self.next_followup + np.arange(n, dtype=np.int64), "rid": rid[picked], "cust": cust[picked],
            "fu_at": at, "agent": self.agent_emp[rng.integers(0, len(self.agent_emp), n)],
            "channel": rng.integers(0, 2, n), "outcome": rng.integers(0, 3, n),
        }  # fmt: skip
        self.next_followup += n
        sql = f"""
            select {ident("F", "fid", 9)} as followup_id,
                   {ident("R", "rid", 9)} as response_id,
                   {ident("C", "cust", 8)} as customer_id,
                   cast(null as varchar) as ticket_id,
                   {ts_text("fu_at")} as followed_up_at,
                   {lookup(("phone", "email"), "channel")} as channel,
                   {ident("E", "agent", 5)} as employee_id,
                   {lookup(("resolved", "apologised", "no_answer"), "outcome")} as outcome
            from chunk"""
        self.out.write("followups", f"{self.labels[k]}_followups.csv", data, sql, "csv", n)
        self.distinct["followups"] += n

    # ------------------------------------------------------------------------------------------ writers
    def write_tickets(self) -> None:
        t = self.t
        inf = np.inf
        mon = {k: self.month_of(t[k]) for k in ("fr", "r1", "o1", "r2", "o2", "r3", "close")}
        mon_open = self.month_of(t["opened"].astype(float))
        for k in range(self.M):
            sel = mon_open == k
            for v in mon.values():
                sel |= v == k
            tix = np.flatnonzero(sel & (mon_open <= k))
            if not len(tix):
                continue
            at = float(self.ms[k + 1])
            g = {key: t[key][tix] for key in ("fr", "r1", "o1", "r2", "o2", "r3", "close")}
            fr = np.where(g["fr"] < at, g["fr"], inf)
            reopens = (g["o1"] < at).astype(np.int64) + (g["o2"] < at)
            last_res = np.where(
                g["r3"] < at, g["r3"], np.where(g["r2"] < at, g["r2"], np.where(g["r1"] < at, g["r1"], inf))
            )
            reopened_now = ((reopens == 1) & ~(g["r2"] < at)) | ((reopens == 2) & ~(g["r3"] < at))
            resolved = np.where(reopened_now, inf, last_res)
            closed = np.where(g["close"] < at, g["close"], inf)
            status = np.where(
                np.isfinite(closed), 3,
                np.where(np.isfinite(resolved), 2,
                         np.where(reopened_now, 4, np.where(np.isfinite(fr) & t["wait"][tix], 1, 0))),
            )  # fmt: skip
            extra = t["extra"][tix]
            contacts = 1 + np.where(np.isfinite(fr), np.where(g["r1"] < at, extra, extra // 2), 0) + reopens
            esc_t = np.where(np.isfinite(g["fr"]), g["fr"], t["opened"][tix] + HOUR)
            data = {
                "tid": tix.astype(np.int64), "cust": t["cust"][tix], "ttype": t["ttype"][tix],
                "channel": t["channel"][tix], "category": t["category"][tix], "severity": t["severity"][tix],
                "style": np.where(t["channel"][tix] == 4, 1, 0),
                "opened": t["opened"][tix], "fr": to_int(fr), "resolved": to_int(resolved), "closed": to_int(closed),
                "status": status, "reopens": reopens, "contacts": contacts,
                "esc": t["escalated"][tix] & (esc_t < at), "agent": self.agent_emp[t["agent"][tix]],
                "oid": self.t_order[tix], "desc": t["description"][tix],
            }  # fmt: skip
            sql = f"""
                select {ident("T", "tid", 9)} as ticket_id,
                       {ident("C", "cust", 8)} as customer_id,
                       {lookup(contract.TICKET_TYPES, "ttype")} as ticket_type,
                       {lookup(contract.TICKET_CHANNELS, "channel")} as channel,
                       {lookup(contract.TICKET_CATEGORIES, "category")} as category,
                       {lookup(contract.SEVERITIES, "severity")} as severity,
                       {ts_text("opened", "style")} as opened_at,
                       {ts_text("fr", "style")} as first_response_at,
                       {ts_text("resolved", "style")} as resolved_at,
                       {ts_text("closed", "style")} as closed_at,
                       {lookup(contract.TICKET_STATUSES, "status")} as status,
                       reopens as reopen_count,
                       contacts as contact_count,
                       esc as escalated,
                       {ident("E", "agent", 5)} as agent_id,
                       {ident("O", "oid", 10)} as order_id,
                       {lookup(_DESCRIPTIONS, '"desc"')} as description,
                       'helpdesk' as source_system
                from chunk"""
            self.out.write("tickets", f"{self.labels[k]}_tickets.jsonl", data, sql, "jsonl", len(tix))

    def write_subscriptions(self) -> None:
        s = self.s
        mon_start = np.maximum(self.month_of(s["start"].astype(float)), 0)
        mon_end = self.month_of(s["end"])
        for k in range(self.M):
            idx = np.flatnonzero((mon_start == k) | ((mon_end == k) & (mon_start < k)))
            if not len(idx):
                continue
            at = float(self.ms[k + 1])
            ended = s["end"][idx] < at
            data = {
                "sid": idx.astype(np.int64), "cust": s["cust"][idx], "plan": s["plan"][idx], "start": s["start"][idx],
                "end": to_int(np.where(ended, s["end"][idx], np.inf)), "mrr": s["mrr"][idx],
                "reason": np.where(ended, s["reason"][idx], NA),
            }  # fmt: skip
            sql = f"""
                select {ident("SUB", "sid", 8)} as subscription_id,
                       {ident("C", "cust", 8)} as customer_id,
                       {lookup(PLANS, "plan")} as plan,
                       {ts_text("start", 0)} as started_at,
                       {ts_text('"end"', 0)} as ended_at,
                       mrr::decimal(10, 2) as mrr,
                       {lookup(CANCEL_REASONS, "reason")} as cancel_reason
                from chunk"""
            self.out.write("subscriptions", f"{self.labels[k]}_subscriptions.jsonl", data, sql, "jsonl", len(idx))

    def customer_sql(self, segment_texts) -> str:
        surname_py = [p for _, p in vocab.CN_SURNAMES]
        given_py = [p for _, p in _CN_GIVEN]
        email_local = (
            f"case when lang = 1 then {lookup(given_py, 'given')} || '.' || {lookup(surname_py, 'sur')} "
            f"else lower({lookup(_EN_GIVEN, 'given')} || '.' || {lookup(vocab.EN_SURNAMES, 'sur')}) end"
        )
        phone = (
            f"case when lang = 1 then '+86 1' || lpad(nullif(phone_a, {NA})::varchar, 2, '0') || '-' "
            "|| lpad(phone_b::varchar, 4, '0') || '-' || lpad(phone_c::varchar, 4, '0') "
            f"else '+44 7700 900' || lpad((nullif(phone_a, {NA}) * 10 + phone_b % 10)::varchar, 3, '0') end"
        )
        return f"""
            select {ident("C", "cid", 8)} as customer_id,
                   {_name_sql()} as full_name,
                   case when email_no = {NA} then null
                        else {email_local} || email_no::varchar || '@' || {lookup(vocab.EMAIL_DOMAINS, "domain")} end
                        as email,
                   {phone} as phone,
                   {lookup(("F", "M"), "gender")} as gender,
                   {date_text("birth")} as birth_date,
                   {lookup(_CITY_LIST, "city")} as city,
                   {lookup(REGIONS, "region")} as region,
                   {lookup(segment_texts, "seg")} as segment,
                   {ts_text("signup", 1)} as signup_at,
                   {ident("S", "store", 3)} as store_id,
                   {ident("E", "am", 5)} as account_manager_id,
                   {ts_text("updated", 1)} as updated_at
            from chunk"""

    def write_customers(self) -> None:
        rng = self.sub_rng(6)
        c = self.c
        n = self.n_cust
        export_t = int(self.ms[-2])
        t_end = self.t_end
        signup = c["signup"]
        updated = signup + np.floor(rng.random(n) * (np.maximum(export_t, signup + 1) - signup)).astype(np.int64)
        am = np.where(c["has_am"], self.store_am[c["store"]], NA)
        base = {"cid": np.arange(n, dtype=np.int64), **self.c_names, **self.c_extra, "city": c["city"],
                "region": c["region"], "seg": c["seg"], "signup": signup, "store": c["store"], "am": am,
                "updated": updated}  # fmt: skip
        exported = signup < export_t
        # changes in the last month: new customers, upgrades to VIP, customers who moved region
        new_late = ~exported
        upgrade = exported & (c["seg"] == 1) & (rng.random(n) < 0.06 * _sigmoid(2 * c["L"]))
        move = exported & ~upgrade & (rng.random(n) < 0.01)
        changed = upgrade | move
        exp_rows = {k: v[exported] for k, v in base.items()}
        exp_rows["updated"] = np.minimum(exp_rows["updated"], export_t - 1)
        self.out.write(
            "customers",
            f"{self.month_dt[-2].strftime('%Y-%m')}-01_customers_export.csv",
            exp_rows,
            self.customer_sql(SEGMENT_EXPORT_TEXT),
            "csv",
            int(exported.sum()),
            encoding="gb18030",
        )
        ch = {k: v.copy() for k, v in base.items()}
        ch["seg"] = np.where(upgrade, 0, ch["seg"])
        ch["am"] = np.where(upgrade, self.store_am[c["store"]], ch["am"])
        # a move: a store in another region, its city
        new_region = (c["region"] + rng.integers(1, len(REGIONS), n)) % len(REGIONS)
        new_store = np.array([self.stores_by_region[r][0] if len(self.stores_by_region[r]) else 0
                              for r in range(len(REGIONS))])[new_region]  # fmt: skip
        ch["region"] = np.where(move, self.store_region[new_store], ch["region"])
        ch["store"] = np.where(move, new_store, ch["store"])
        ch["city"] = np.where(move, self.store_city[new_store], ch["city"])
        ch["am"] = np.where(move & c["has_am"], self.store_am[new_store], ch["am"])
        ch["updated"] = np.where(
            changed,
            export_t + np.floor(rng.random(n) * (t_end - export_t)).astype(np.int64),
            signup + np.floor(rng.random(n) * np.maximum(t_end - signup, 1)).astype(np.int64),
        )
        keep = new_late | changed
        ch_rows = {k: v[keep] for k, v in ch.items()}
        self.out.write(
            "customers",
            f"{self.month_dt[-1].strftime('%Y-%m')}-01_customers_changes.csv",
            ch_rows,
            self.customer_sql(tuple(s.lower() for s in SEGMENT_EXPORT_TEXT)),
            "csv",
            int(keep.sum()),
        )
        self.distinct["customers"] = n

    def write_stores(self) -> None:
        n = self.n_stores
        data = {"sid": np.arange(n, dtype=np.int64), "city": self.store_city, "area": self.store_area,
                "region": self.store_region, "opened": self.store_opened}  # fmt: skip
        sql = f"""
            select {ident("S", "sid", 3)} as store_id,
                   {lookup(_CITY_LIST, "city")} || {lookup(vocab.STORE_AREAS, "area")} || '店' as store_name,
                   {lookup(_CITY_LIST, "city")} as city,
                   {lookup(REGIONS, "region")} as region,
                   {date_text("opened")} as opened_at
            from chunk"""
        self.out.write("stores", f"{self.month_dt[-1].strftime('%Y-%m')}-01_stores.csv", data, sql, "csv", n)
        self.distinct["stores"] = n

    def write_employees(self) -> None:
        e = self.employees
        n = len(e["idx"])
        sql = f"""
            select {ident("E", "idx", 5)} as employee_id,
                   {_name_sql()} as full_name,
                   {lookup(contract.EMPLOYEE_ROLES, "role")} as role,
                   case role when 0 then 'customer_care_' || (team_no + 1)::varchar
                             when 1 then 'key_accounts_' || {lookup(REGIONS, "region")}
                             else 'store_' || {ident("S", "store", 3)} end as team,
                   {ident("S", "store", 3)} as store_id,
                   {date_text("hired")} as hired_at
            from chunk"""
        self.out.write("employees", f"{self.month_dt[-1].strftime('%Y-%m')}-01_employees.csv", e, sql, "csv", n)
        self.distinct["employees"] = n
