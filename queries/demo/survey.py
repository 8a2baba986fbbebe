"""Demo survey responses: one contract-format frame per (source, wave), fully vectorised.

The model: a latent general-trust factor per respondent drives every trust item, the
"state listens" item and (mildly) participation, so the items correlate as in real data.
Regions sit consistently above or below the national level (``REGION_TRUST``), and a few
real changes are built in so the charts have something to find:
- trust_government rises by ``GOVERNMENT_RISE`` between 2022 and 2023 and stays up;
- trust_police drops by ``POLICE_DROP`` in one wave per source (``POLICE_DROP_WAVES``);
- every trust item in ``MOVER_REGION`` drops by ``MOVER_SHIFT`` in each source's last wave.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import polars as pl

from queries.contract import SURVEY, TRUST_INSTITUTIONS
from queries.demo.common import (
    STREAM_SURVEY,
    apportion,
    before_reform,
    logistic,
    logit,
    old_units,
    region_names,
    regions,
    rng_for,
)
from queries.errors import SenimError

SOURCES = ("public_trust_council", "kurultai")
# Public Trust Council rounds use quarter labels, Kurultai rounds month labels: both contract forms.
WAVES: dict[str, tuple[str, ...]] = {
    "public_trust_council": tuple(f"{y}-Q{q}" for y in range(2019, 2026) for q in (2, 4)),
    "kurultai": tuple(f"{y}-{m:02d}" for y in range(2019, 2026) for m in (3, 9)),
}
SOURCE_SHARE = {"public_trust_council": 0.55, "kurultai": 0.45}
ID_PREFIX = {"public_trust_council": "PTC", "kurultai": "KUR"}

TRUST_ITEMS = TRUST_INSTITUTIONS
TRUST_BASE = {
    "government": 5.5,
    "parliament": 5.0,
    "akimat": 5.3,
    "courts": 4.4,
    "police": 4.6,
    "ngos": 6.0,
    "media": 5.2,
}
GOVERNMENT_RISE = 1.0
POLICE_DROP = 1.5
POLICE_DROP_WAVES = {"public_trust_council": "2022-Q2", "kurultai": "2022-03"}
MOVER_REGION = "KZ-47"
MOVER_SHIFT = -2.0

YES_NO_ITEMS = (
    "participated_consultation",
    "submitted_proposal",
    "received_response",
    "ngo_involvement",
)
MISSING_SHARE = 0.03  # per trust item; written as blank, DK or 99
EQUAL_PART = 0.3  # share of each wave's sample split equally over regions (the minimum)
SAMPLE_FEMALE, POPULATION_FEMALE = 0.57, 0.52  # women answer more: weights correct it
AGE_BANDS = ((16, 17), (18, 29), (30, 44), (45, 59), (60, 80))
AGE_SAMPLE = np.array([0.006, 0.174, 0.29, 0.28, 0.25])  # older people answer more
AGE_POPULATION = np.array([0.006, 0.244, 0.33, 0.23, 0.19])

# Spellings per source: the contract accepts both, so the demo uses both.
SPELLINGS = {
    "public_trust_council": {
        "yes": "yes",
        "no": "no",
        "male": "male",
        "female": "female",
        "urban": "urban",
        "rural": "rural",
        "date": "%Y-%m-%d",
    },
    "kurultai": {
        "yes": "да",
        "no": "нет",
        "male": "м",
        "female": "ж",
        "urban": "город",
        "rural": "село",
        "date": "%d.%m.%Y",
    },
}


def wave_period(label: str) -> tuple[dt.date, dt.date]:
    """First and last day of a ``YYYY-Qn`` or ``YYYY-MM`` wave."""
    year, part = label.split("-")
    if part.startswith("Q"):
        first_month, months = 3 * int(part[1]) - 2, 3
    else:
        first_month, months = int(part), 1
    start = dt.date(int(year), first_month, 1)
    after = first_month + months
    end = dt.date(int(year) + (after > 12), (after - 1) % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


def survey_waves() -> pl.DataFrame:
    """Every (source, wave) the demo produces, with period dates, in file order."""
    rows = []
    for source in SOURCES:
        for label in WAVES[source]:
            start, end = wave_period(label)
            rows.append(
                {
                    "source": source,
                    "wave": label,
                    "start": start,
                    "end": end,
                    "last": label == WAVES[source][-1],
                }
            )
    return pl.DataFrame(rows)


def _sample_sizes(responses: int, shares: np.ndarray) -> np.ndarray:
    """Respondents per (wave, region): a fixed equal part plus a population-proportional part."""
    per_source = apportion(responses, np.array([SOURCE_SHARE[s] for s in SOURCES]))
    per_wave = np.concatenate(
        [
            apportion(int(n), np.ones(len(WAVES[s])))
            for n, s in zip(per_source, SOURCES, strict=True)
        ]
    )
    allocation = EQUAL_PART / len(shares) + (1 - EQUAL_PART) * shares
    return np.stack([apportion(int(n), allocation) for n in per_wave])


def _people(
    rng: np.random.Generator, sizes: np.ndarray, table: pl.DataFrame, urban_share: np.ndarray
) -> dict:
    """Who was interviewed: wave, region, sex, age, settlement and the design weight."""
    shares = table.get_column("share").to_numpy()
    n = int(sizes.sum())
    sw = np.repeat(np.arange(sizes.shape[0]), sizes.sum(axis=1))
    region = np.concatenate([np.repeat(np.arange(len(shares)), row) for row in sizes])
    female = rng.random(n) < SAMPLE_FEMALE
    band = rng.choice(len(AGE_BANDS), size=n, p=AGE_SAMPLE)
    lows, highs = np.array(AGE_BANDS).T
    age = lows[band] + np.floor(rng.random(n) * (highs[band] - lows[band] + 1)).astype(np.int64)
    # Weight: region's population share / its sample share in the wave, times a
    # non-response adjustment by sex and age band, scaled to mean 1 in each wave.
    design = (shares[None, :] / (sizes / sizes.sum(axis=1, keepdims=True)))[sw, region]
    sex_adj = np.where(
        female, POPULATION_FEMALE / SAMPLE_FEMALE, (1 - POPULATION_FEMALE) / (1 - SAMPLE_FEMALE)
    )
    weight = design * sex_adj * (AGE_POPULATION / AGE_SAMPLE)[band]
    weight = weight / (np.bincount(sw, weight) / np.bincount(sw))[sw]
    urban = rng.random(n) < urban_share[region]
    return {
        "sw": sw,
        "region": region,
        "female": female,
        "age": age,
        "weight": np.round(weight, 4),
        "urban": urban,
    }


def _effects(waves: pl.DataFrame, table: pl.DataFrame, sw: np.ndarray, region: np.ndarray) -> dict:
    """The built-in time and place effects, one value per respondent."""
    start = waves.get_column("start").to_numpy().astype("datetime64[D]")
    t = 1970 + start.astype("datetime64[M]").astype(float) / 12  # decimal year
    drop_wave = np.array(
        [POLICE_DROP_WAVES[s] == w for s, w in waves.select("source", "wave").iter_rows()]
    )
    mover_index = table.get_column("code").to_list().index(MOVER_REGION)
    last_wave = waves.get_column("last").to_numpy()[sw]
    return {
        "trend": np.clip((t - 2019) / 6.75, 0, 1)[sw],  # 0 in 2019 .. 1 in late 2025
        "government": (GOVERNMENT_RISE * np.clip(t - 2022, 0, 1))[sw],
        "police": np.where(drop_wave, -POLICE_DROP, 0.0)[sw],
        "mover": np.where(last_wave & (region == mover_index), MOVER_SHIFT, 0.0),
        "region": table.get_column("trust_offset").to_numpy()[region],
    }


def _answers(rng: np.random.Generator, people: dict, effects: dict) -> dict[str, np.ndarray]:
    """Scores (0-10, ``<name>_missing`` code 0 = answered, 1 blank, 2 DK, 3 99) and yes/no
    answers (``<name>`` flag plus ``<name>_asked``)."""
    n = len(people["sw"])
    general = rng.standard_normal(n)  # the latent general-trust factor
    older = (people["age"] - 45) * 0.012
    trend = effects["trend"]
    out: dict[str, np.ndarray] = {}

    def score(name: str, level: np.ndarray, missing_share: float, blank_only: bool = False):
        out[name] = np.clip(np.rint(level), 0, 10).astype(np.int8)
        missing = rng.random(n) < missing_share
        codes = np.ones(n, np.int8) if blank_only else rng.integers(1, 4, n, dtype=np.int8)
        out[f"{name}_missing"] = np.where(missing, codes, 0).astype(np.int8)

    for item in TRUST_ITEMS:
        level = TRUST_BASE[item] + effects["region"] + effects["mover"]
        level = level + 1.4 * general + 1.4 * rng.standard_normal(n)
        if item in ("government", "akimat", "parliament"):
            level += older
        if item in ("government", "police"):
            level += effects[item]
        score(f"trust_{item}", level, MISSING_SHARE)
    listens = 4.6 + 0.8 * effects["region"] + 0.6 * effects["government"] + effects["mover"]
    score("state_listens", listens + 1.2 * general + 1.8 * rng.standard_normal(n), 0.02)

    answered = rng.random((4, n)) >= 0.01  # item non-response on the yes/no questions
    participated = rng.random(n) < logistic(logit(0.10 + 0.13 * trend) + 0.35 * general)
    submitted = rng.random(n) < logistic(logit(0.08 + 0.05 * trend) + 0.6 * participated)
    received = rng.random(n) < 0.55 + 0.18 * trend
    ngo = rng.random(n) < logistic(logit(0.05 + 0.06 * trend) + 0.3 * general)
    # Follow-ups are asked only of those they apply to; the rest stay blank.
    asked_received = submitted & answered[1] & answered[2]
    for name, flag, asked in (
        ("participated_consultation", participated, answered[0]),
        ("submitted_proposal", submitted, answered[1]),
        ("received_response", received, asked_received),
        ("ngo_involvement", ngo, answered[3]),
    ):
        out[name], out[f"{name}_asked"] = flag, asked
    satisfaction = 5.2 + 1.0 * general + 2.0 * rng.standard_normal(n)
    score("response_satisfaction", satisfaction, 0.03, blank_only=True)
    not_asked = ~(asked_received & received)
    out["response_satisfaction_missing"][not_asked] = 1
    return out


def _word(flag: str, true_key: str, false_key: str, shown: pl.Expr) -> pl.Expr:
    """One of two words in the row's source spelling (``k`` = Kurultai row), blank unless shown."""
    ru, en = SPELLINGS["kurultai"], SPELLINGS["public_trust_council"]
    word_true = pl.when(pl.col("k")).then(pl.lit(ru[true_key])).otherwise(pl.lit(en[true_key]))
    word_false = pl.when(pl.col("k")).then(pl.lit(ru[false_key])).otherwise(pl.lit(en[false_key]))
    return pl.when(~shown).then(None).when(pl.col(flag)).then(word_true).otherwise(word_false)


def _score_text(name: str) -> pl.Expr:
    """A 0-10 score as text; missing answers as blank, ``DK`` or ``99`` (all contract codes)."""
    code = pl.col(f"{name}_missing")
    return (
        pl.when(code == 0)
        .then(pl.col(name).cast(pl.String))
        .when(code == 2)
        .then(pl.lit("DK"))
        .when(code == 3)
        .then(pl.lit("99"))
        .alias(name)
    )


def _urban_shares(seed: int, table: pl.DataFrame) -> np.ndarray:
    """Each region's urban share, fixed over the waves: cities almost all urban."""
    city = (table.get_column("kind") == "city").to_numpy()
    rng = rng_for(seed, STREAM_SURVEY)
    return np.where(city, 0.95, 0.35 + 0.3 * rng.random(table.height))


def iter_survey(responses: int, seed: int) -> Iterator[tuple[tuple[str, str], pl.DataFrame]]:
    """Demo survey files one at a time: ``((source, wave), frame)`` in file order, each frame
    in the contract's format (text columns).

    Streaming, so a 10M-response demo never holds more than one wave: each wave draws from its
    own random stream (seed, survey stream, wave number), which is what makes a wave computable
    without the ones before it. Deterministic for ``seed``; ``responses`` is the exact total.
    """
    waves = survey_waves()
    minimum = waves.height * 20
    if responses < minimum:
        raise SenimError(f"The demo needs at least {minimum} survey responses, got {responses}.")
    table = regions()
    sizes = _sample_sizes(responses, table.get_column("share").to_numpy())
    urban_share = _urban_shares(seed, table)
    for index, (source, wave) in enumerate(waves.select("source", "wave").iter_rows()):
        rng = rng_for(seed, STREAM_SURVEY, index + 1)
        one = waves.slice(index, 1)
        yield (source, wave), _wave_frame(rng, one, table, sizes[index : index + 1], urban_share)


def _wave_frame(
    rng: np.random.Generator,
    waves: pl.DataFrame,
    table: pl.DataFrame,
    sizes: np.ndarray,
    urban_share: np.ndarray,
) -> pl.DataFrame:
    """The respondents of the waves in ``waves`` (one row per wave, ``sizes`` one row of
    respondents per region each), already in the contract's file format (text)."""
    people = _people(rng, sizes, table, urban_share)
    sw, region = people["sw"], people["region"]
    n = len(sw)
    answers = _answers(rng, people, _effects(waves, table, sw, region))

    within = np.arange(n) - np.concatenate([[0], np.cumsum(sizes.sum(axis=1))[:-1]])[sw] + 1
    prefix = waves.select(
        pl.col("source").replace_strict(ID_PREFIX) + "-" + pl.col("wave").str.replace("-", "") + "-"
    ).to_series()
    span = (waves.get_column("end") - waves.get_column("start")).dt.total_days().to_numpy() + 1
    start = waves.get_column("start").to_numpy().astype("datetime64[D]")
    end = waves.get_column("end").to_numpy().astype("datetime64[D]")
    day = start[sw] + np.floor(rng.random(n) * span[sw]).astype("timedelta64[D]")
    shown = rng.random((3, n)) >= 0.01  # a few blank sex / age / settlement
    source = waves.get_column("source").gather(sw)
    base = pl.DataFrame(
        {
            **people,
            **answers,
            "k": source == "kurultai",
            "source": source,
            "wave": waves.get_column("wave").gather(sw),
            "id": prefix.gather(sw) + pl.Series(within).cast(pl.String).str.zfill(6),
            "day": day,
            "shown_sex": shown[0],
            "shown_age": shown[1],
            "shown_settlement": shown[2],
            # waves ending before the 2022 reform are coded on the 17 old units
            "region": region_names(old_units(region, before_reform(end[sw])), rng),
        }
    )
    yes_no = [
        _word(name, "yes", "no", pl.col(f"{name}_asked")).alias(name) for name in YES_NO_ITEMS
    ]
    return base.select(
        pl.col("id").alias("respondent_id"),
        "source",
        "wave",
        pl.when(pl.col("k"))
        .then(pl.col("day").dt.strftime(SPELLINGS["kurultai"]["date"]))
        .otherwise(pl.col("day").dt.strftime(SPELLINGS["public_trust_council"]["date"]))
        .alias("interview_date"),
        "region",
        _word("urban", "urban", "rural", pl.col("shown_settlement")).alias("settlement"),
        _word("female", "female", "male", pl.col("shown_sex")).alias("sex"),
        pl.when(pl.col("shown_age")).then(pl.col("age").cast(pl.String)).alias("age"),
        pl.col("weight").cast(pl.String),
        *[_score_text(f"trust_{item}") for item in TRUST_ITEMS],
        _score_text("state_listens"),
        *yes_no[:3],
        _score_text("response_satisfaction"),
        yes_no[3],
    )


FILE_COLUMNS = tuple(c.name for c in SURVEY.columns)


def generate_survey(responses: int, seed: int) -> dict[tuple[str, str], pl.DataFrame]:
    """Every demo survey file at once, ``(source, wave) -> frame`` (see ``iter_survey``; fine
    for tests and small demos, not for 10M responses)."""
    return dict(iter_survey(responses, seed))


def generate_survey_frame(responses: int, seed: int) -> pl.DataFrame:
    """All demo respondents in one frame, grouped by (source, wave) in file order."""
    return pl.concat(frame for _, frame in iter_survey(responses, seed))
