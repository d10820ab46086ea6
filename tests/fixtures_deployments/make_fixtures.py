"""Writes the six deployment fixtures of tests/test_deployments_end_to_end.py (issue 10).

Run once by hand (`python tests/fixtures_deployments/make_fixtures.py`); the files it writes are
committed, and the tests read only those files. Every value is invented by a seeded random generator
in the column layout of a well-known public export of that shape (see README.md beside this file).
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent


def write(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def month_add(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


def telco(rng: random.Random) -> None:
    """CRM + subscriptions of a telco (the layout of the IBM Telco Customer Churn sample)."""
    root = HERE / "telco_crm_subscriptions" / "landing"
    customers, subs = [], []
    contracts = {"Month-to-month": 0.12, "One year": 0.03, "Two year": 0.01}
    for i in range(240):
        cid = f"{7000 + i:04d}-{''.join(rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ') for _ in range(5))}"
        contract = rng.choices(list(contracts), weights=[55, 25, 20])[0]
        start = datetime(2023, 1, 1) + timedelta(days=rng.randrange(0, 540), hours=rng.randrange(8, 20))
        charges = round(rng.uniform(18.25, 118.75), 2)
        end, reason = "", ""
        month = month_add(start.date(), 1)
        while month < date(2024, 7, 1):
            if rng.random() < contracts[contract]:
                end_dt = datetime(month.year, month.month, 1) + timedelta(days=rng.randrange(0, 27), hours=14)
                end = end_dt.strftime("%Y-%m-%d %H:%M:%S")
                reason = rng.choice(["Competitor offer", "Price", "Moved", "Network quality", "Support"])
                break
            month = month_add(month, 1)
        region = rng.choice(["North", "South", "East", "West"])
        customers.append(
            [cid, rng.choice(["Male", "Female"]), rng.choice(["0", "1"]), region, contract, start.strftime("%Y-%m-%d")]
        )
        subs.append([f"S-{cid}", cid, contract, start.strftime("%Y-%m-%d %H:%M:%S"), end, charges, reason])
    write(
        root / "crm" / "customers" / "2024-07-01_customers.csv",
        ["customerID", "gender", "SeniorCitizen", "Region", "Contract", "SignupDate"],
        customers,
    )
    write(
        root / "churn" / "subscriptions" / "2024-07-01_subscriptions.csv",
        ["SubscriptionID", "customerID", "Contract", "StartDate", "EndDate", "MonthlyCharges", "Churn Reason"],
        subs,
    )


def reviews(rng: random.Random) -> None:
    """Order reviews of an online shop in Sao Paulo (the layout of the Olist order reviews export)."""
    root = HERE / "ecommerce_reviews" / "landing"
    rows = []
    day = date(2024, 1, 1)
    n = 0
    while day <= date(2024, 6, 30):
        for _ in range(rng.choice([1, 2, 2, 3])):
            n += 1
            score = rng.choices([1, 2, 3, 4, 5], weights=[10, 4, 9, 20, 57])[0]
            created = datetime(day.year, day.month, day.day)
            answered = created + timedelta(hours=rng.randrange(0, 24), minutes=rng.randrange(60))
            rows.append(
                [
                    f"r{n:05d}",
                    f"o{rng.randrange(10**8):08d}",
                    score,
                    "",
                    "",
                    created.strftime("%Y-%m-%d %H:%M:%S"),
                    answered.strftime("%Y-%m-%d %H:%M:%S"),
                ]
            )
        day += timedelta(days=1)
    # late evening on the last day of a month: next month in UTC, this month in Sao Paulo
    for k, stamp in enumerate(["2024-01-31 22:45:00", "2024-03-31 23:30:00", "2024-04-30 21:10:00"]):
        rows.append([f"late{k}", f"o9{k:07d}", 1, "", "chegou atrasado", stamp[:10] + " 00:00:00", stamp])
    write(
        root / "survey" / "survey_responses" / "2024-07-01_order_reviews.csv",
        [
            "review_id",
            "order_id",
            "review_score",
            "review_comment_title",
            "review_comment_message",
            "review_creation_date",
            "review_answer_timestamp",
        ],
        rows,
    )


PRODUCTS = {
    "Credit reporting": ["Incorrect information on your report", "Problem with a company's investigation"],
    "Debt collection": ["Attempts to collect debt not owed", "Written notification about debt"],
    "Mortgage": ["Trouble during payment process", "Applying for a mortgage"],
    "Checking or savings account": ["Managing an account", "Opening an account"],
}
RESPONSES = {
    "Closed with explanation": 60,
    "Closed with non-monetary relief": 15,
    "Closed with monetary relief": 8,
    "In progress": 12,
    "Untimely response": 5,
}


def register(rng: random.Random) -> None:
    """A public complaints register (the layout of the CFPB Consumer Complaint Database export)."""
    root = HERE / "complaints_register" / "landing"
    rows = []
    day = date(2024, 1, 2)
    n = 0
    while day <= date(2024, 5, 31):
        for _ in range(rng.choice([1, 2, 2, 3])):
            n += 1
            product = rng.choice(list(PRODUCTS))
            issue = rng.choice(PRODUCTS[product])
            response = rng.choices(list(RESPONSES), weights=list(RESPONSES.values()))[0]
            closed = response.startswith("Closed")
            response_date = (day + timedelta(days=rng.randrange(0, 20))).isoformat() if closed else ""
            timely = "" if response == "In progress" else ("Yes" if rng.random() < 0.93 and closed else "No")
            channel = rng.choices(["Web", "Referral", "Postal mail", "Fax", "Phone"], weights=[70, 15, 8, 2, 5])[0]
            rows.append(
                [
                    day.isoformat(),
                    product,
                    issue,
                    "",
                    "Company has responded to the consumer" if closed else "",
                    "EXAMPLE BANK",
                    rng.choice(["NY", "CA", "TX", "FL", "IL"]),
                    channel,
                    response_date,
                    response,
                    timely,
                    "N/A",
                    str(3_100_000 + n),
                ]
            )
        day += timedelta(days=1)
    write(
        root / "complaints" / "tickets" / "2024-06-01_register.csv",
        [
            "Date received",
            "Product",
            "Issue",
            "Consumer complaint narrative",
            "Company public response",
            "Company",
            "State",
            "Submitted via",
            "Company response date",
            "Company response to consumer",
            "Timely response?",
            "Consumer disputed?",
            "Complaint ID",
        ],
        rows,
    )


ITEMS = [  # (export column, item code, dimension)
    ("Inflight wifi service", "WIFI", "digital"),
    ("Ease of Online booking", "BOOKING", "digital"),
    ("Online boarding", "BOARDING", "digital"),
    ("Inflight entertainment", "ENTERTAIN", "digital"),
    ("Seat comfort", "SEAT", "comfort"),
    ("Leg room service", "LEGROOM", "comfort"),
    ("Cleanliness", "CLEAN", "comfort"),
    ("Food and drink", "FOOD", "comfort"),
    ("Departure/Arrival time convenient", "TIMES", "service"),
    ("Gate location", "GATE", "service"),
    ("On-board service", "ONBOARD", "service"),
    ("Baggage handling", "BAGGAGE", "service"),
    ("Checkin service", "CHECKIN", "service"),
    ("Inflight service", "INFLIGHT", "service"),
]


def passengers(rng: random.Random) -> None:
    """An airline passenger satisfaction survey in the layout of the public "Airline Passenger
    Satisfaction" survey data set: one wide file, a row per passenger and a column per item, delivered
    as survey_responses and (the same file again) as survey_item_scores."""
    root = HERE / "passenger_survey" / "landing" / "survey"
    respondents = []
    for i in range(1, 211):
        travel_class = rng.choices(["Business", "Eco", "Eco Plus"], weights=[45, 45, 10])[0]
        purpose = rng.choices(["Business travel", "Personal Travel"], weights=[65, 35])[0]
        level = 3.6 if travel_class == "Business" else 2.8
        scores = []
        for column, _, _ in ITEMS:
            if column in ("Inflight wifi service", "Ease of Online booking") and rng.random() < 0.05:
                score = 0  # not applicable
            else:
                score = min(5, max(1, round(rng.gauss(level, 1.1))))
            scores.append(score)
        mean = sum(s for s in scores if s) / len([s for s in scores if s])
        satisfied = "satisfied" if mean + rng.gauss(0, 0.4) > 3.4 else "neutral or dissatisfied"
        gender, loyalty = rng.choice(["Male", "Female"]), rng.choice(["Loyal Customer", "disloyal Customer"])
        age, distance = rng.randrange(16, 80), (rng.randrange(100, 4000))
        respondents.append(
            [str(100_000 + i), gender, loyalty, age, purpose, travel_class, distance, *scores, satisfied]
        )
    header = ["id", "Gender", "Customer Type", "Age", "Type of Travel", "Class", "Flight Distance"]
    # one file for both entities: the item scores' mapping reads it there (`files_of`)
    columns = [*header, *(c for c, _, _ in ITEMS), "satisfaction"]
    write(root / "survey_responses" / "passenger_survey.csv", columns, respondents)
    write(
        HERE / "passenger_survey" / "seeds" / "survey_items.csv",
        ["item_code", "dimension", "item_order", "item_text", "scale_min", "scale_max", "na_code"],
        [[code, dim, k + 1, column, 1, 5, 0] for k, (column, code, dim) in enumerate(ITEMS)],
    )


SATISFACTION = [
    "Very dissatisfied",
    "Dissatisfied",
    "Neither satisfied nor dissatisfied",
    "Satisfied",
    "Very satisfied",
]
FORM_COLUMNS = [
    "Timestamp",
    "Email Address",
    "How likely are you to recommend Acme to a friend or colleague?",
    "Overall, how satisfied are you with Acme?",
    "Anything else you would like to tell us?",
]


def form(rng: random.Random) -> None:
    """A customer survey run on a form tool, in the layout of a Google Forms responses export: no
    response id, a M/D/YYYY timestamp (rows edited by hand in the sheet written as ISO), the email
    when the respondent gave it, the answers as labels. The export is cumulative: each download holds
    every response so far, and two downloads are delivered."""
    root = HERE / "form_survey" / "landing" / "survey" / "survey_responses"
    rows, seen = [], set()
    while len(rows) < 180:
        at = datetime(2024, 1, 2) + timedelta(seconds=rng.randrange(0, 119 * 86_400))
        if at in seen:
            continue
        seen.add(at)
        stamp = (
            at.strftime("%Y-%m-%d %H:%M:%S") if rng.random() < 0.1 else f"{at.month}/{at.day}/{at.year} {at:%-H:%M:%S}"
        )
        email = f"customer{rng.randrange(1, 400)}@example.com" if rng.random() < 0.7 else ""
        nps = min(10, max(0, round(rng.gauss(7.4, 2.2))))
        csat = SATISFACTION[min(4, max(0, round(rng.gauss(3.0, 1.0))))]
        comment = rng.choice(["", "", "Great service", "Delivery was late", "Support was helpful"])
        rows.append((at, [stamp, email, nps, csat, comment]))
    rows.sort()
    write(root / "2024-02-29_form_responses.csv", FORM_COLUMNS, [r for at, r in rows if at < datetime(2024, 3, 1)])
    write(root / "2024-04-30_form_responses.csv", FORM_COLUMNS, [r for _, r in rows])


CONNECTOR_ITEMS = ["TAN1", "REL1", "RES1", "ASS1", "EMP1"]


def connector(rng: random.Random) -> None:
    """A survey tool's answers as its warehouse connector delivers them: one row per response and
    question (`response_id, survey_id, recorded_date, question_id, value`), the NPS and CSAT
    questions among the SERVQUAL perception items (1-7, the repo's catalogue); some responses
    unfinished (`finished` false) and some questions unanswered (no row)."""
    root = HERE / "survey_connector" / "landing" / "survey" / "survey_responses"
    rows = []
    for i in range(1, 151):
        at = datetime(2024, 2, 1) + timedelta(seconds=rng.randrange(0, 90 * 86_400))
        finished = "false" if rng.random() < 0.08 else "true"
        answers = {"NPS": min(10, max(0, round(rng.gauss(7.0, 2.4)))), "CSAT": min(5, max(1, round(rng.gauss(3.8, 1))))}
        answers |= {item: min(7, max(1, round(rng.gauss(5.2, 1.3)))) for item in CONNECTOR_ITEMS}
        for question, value in answers.items():
            if rng.random() < 0.07:
                continue  # not answered: the connector writes no row
            rows.append([f"R_{i:05d}", "SV_pulse", at.strftime("%Y-%m-%d %H:%M:%S"), finished, question, value])
    rng.shuffle(rows)  # a connector's table has no order
    header = ["response_id", "survey_id", "recorded_date", "finished", "question_id", "value"]
    write(root / "question_response.csv", header, rows)


if __name__ == "__main__":
    telco(random.Random(10_1))
    reviews(random.Random(10_2))
    register(random.Random(10_3))
    passengers(random.Random(10_4))
    form(random.Random(10_5))
    connector(random.Random(10_6))
