"""The weights switch on the Regions, NGO, Feedback and Drivers pages (issue 12, point 6):
each page's calibrated numbers, made from per-cell sums, equal the frame-based rake of the same
wave (``survey_mean(calibrate_to=...)``, ``calibrated_weights`` + the rake residuals) to 1e-9;
a wave without margins keeps its delivered numbers; the drivers' rake-aware SEs equal R's."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from scipy.stats import norm

from queries.metrics.drivers import drivers_numbers, trust_drivers
from queries.metrics.feedback import feedback_numbers, feedback_survey
from queries.metrics.filters import Filters, apply_filters
from queries.metrics.inference import region_standing, weighted_by_group, weighted_standing
from queries.metrics.moved import composite_by_group, composite_by_region
from queries.metrics.ngo import trust_by_region
from queries.survey.calibration import (
    calibrated_weights,
    category_codes,
    column_variances,
    rake_residuals,
)
from queries.survey.design import survey_mean, survey_proportion
from queries.survey.regression import survey_regression

D = dt.date
REGIONS = {"KZ-75": 2_000_000.0, "KZ-71": 1_000_000.0, "KZ-79": 3_000_000.0}
SEX = {"female": 0.53, "male": 0.47}
AGE = {"18-29": 0.25, "30-44": 0.3, "45-59": 0.25, "60+": 0.2}
WAVES = {"W1": D(2024, 3, 1), "W2": D(2024, 9, 1), "W3": D(2025, 3, 1)}  # 2025: no margins


def population() -> pl.DataFrame:
    """Region × sex × age counts for 2024 (the uploaded kind), none for 2025."""
    rows = [
        (2024, region, sex, age, total * s * a)
        for region, total in REGIONS.items()
        for sex, s in SEX.items()
        for age, a in AGE.items()
    ]
    return pl.DataFrame(rows, schema=["year", "region", "sex", "age_group", "count"], orient="row")


def responses() -> pl.DataFrame:
    """KZ-75, men and the young over-represented; trust differs by region, sex and age."""
    rng = np.random.default_rng(7)
    parts = []
    for wave, start in WAVES.items():
        for region, n in {"KZ-75": 220, "KZ-71": 90, "KZ-79": 140}.items():
            base = {"KZ-75": 6.5, "KZ-71": 5.0, "KZ-79": 3.5}[region]
            sex = rng.choice(["female", "male"], n, p=[0.35, 0.65])
            age = rng.choice(list(AGE), n, p=[0.4, 0.3, 0.2, 0.1])
            shift = np.where(sex == "male", -1.0, 0.5) + np.where(age == "60+", 1.5, 0.0)
            got = rng.random(n) < 0.5
            parts.append(
                pl.DataFrame(
                    {
                        "source": "ptc",
                        "wave": wave,
                        "period_start": start,
                        "region": region,
                        "weight": rng.uniform(0.5, 2.0, n),
                        "trust_government": np.clip(np.round(rng.normal(base + shift, 2)), 0, 10),
                        "trust_courts": np.clip(np.round(rng.normal(base, 2, n)), 0, 10),
                        "state_listens": np.clip(np.round(rng.normal(base - 1 + shift, 2)), 0, 10),
                        "submitted_proposal": rng.random(n) < 0.6,
                        "received_response": got,
                        "response_satisfaction": np.clip(np.round(rng.normal(6, 2, n)), 0, 10),
                        "participated_consultation": rng.random(n) < 0.3,
                        "ngo_involvement": rng.random(n) < 0.2,
                        "sex": sex,
                        "age_group": age,
                        "settlement": rng.choice(["urban", "rural"], n),
                    }
                )
            )
    frame = pl.concat(parts)
    return frame.with_columns(stratum=pl.concat_str("source", "wave", "region", separator="|"))


def data() -> SimpleNamespace:
    regions = pl.DataFrame({"code": list(REGIONS), "population": list(REGIONS.values())})
    return SimpleNamespace(responses=responses(), population=population(), regions=regions)


def margins() -> dict:
    total = sum(REGIONS.values())
    return {
        "region": REGIONS,
        "sex": {k: v * total for k, v in SEX.items()},
        "age_group": {k: v * total for k, v in AGE.items()},
    }


def wave_rows(wave: str, filters: Filters | None = None) -> pl.DataFrame:
    """One whole wave with the filters as the domain ``dom`` and the composite ``c``."""
    filters = filters or Filters()
    rows = responses().filter(pl.col("wave") == wave)
    inside = apply_filters(rows, replace(filters, regions=())).get_column("in_domain")
    if filters.regions:
        inside = inside & rows.get_column("region").is_in(list(filters.regions))
    composite = pl.mean_horizontal("trust_government", "trust_courts")
    return rows.with_columns(inside.alias("dom"), composite.alias("c"))


def reference(wave: str, value: str, *, by=None, filters=None, share=False):
    rows = wave_rows(wave, filters)
    estimator = survey_proportion if share else survey_mean
    return estimator(rows, value, weight="weight", strata="stratum", domain="dom", by=by,
                     calibrate_to=margins(), ci="t")  # fmt: skip


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=1e-12)


def same(got: pl.DataFrame, want: pl.DataFrame, key: str) -> None:
    assert got.height == want.height > 0
    for row in want.iter_rows(named=True):
        mine = got.filter(pl.col(key) == row[key]).row(0, named=True)
        assert close(mine["estimate"], row["estimate"]), (row[key], mine, row)
        assert close(mine["se"], row["se"]), (row[key], mine, row)


def frames_close(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns and a.height == b.height
    for x, z in zip(a.iter_rows(), b.iter_rows(), strict=True):
        for u, v in zip(x, z, strict=True):
            assert close(u, v) if isinstance(u, float) else u == v, (x, z)


def test_region_ranking_and_cross_tabs_equal_the_frame_rake():
    numbers = weighted_standing(data(), Filters(), "ptc", "W2", draws=500)
    assert numbers.weights == "calibrated" and numbers.uncalibrated_waves == ()
    same(numbers.regions, reference("W2", "c", by="region"), "region")
    assert close(numbers.national, reference("W2", "c").item(0, "estimate"))
    for by in ("sex", "age_group", "settlement"):
        made = weighted_by_group(data(), Filters(), "ptc", "W2", by=by)
        assert made.weights == "calibrated"
        same(made.estimates, reference("W2", "c", by=by), by)


def frame_contrast_p(wave: str, region: str, filters: Filters | None = None) -> tuple[float, float]:
    """Region against the rest of the raked wave: the difference and its z-test p, from the
    respondents (z_region − z_rest with the margins projected out, as svyrecvar)."""
    rows = calibrated_weights(wave_rows(wave, filters), margins(), weight="weight", out="g")
    w, y = rows.get_column("g").to_numpy(), rows.get_column("c").to_numpy()
    dom = rows.get_column("dom").to_numpy()
    inside = (rows.get_column("region").to_numpy() == region) & dom
    rest = ~inside & dom
    z = np.zeros(len(y))
    for part, sign in ((inside, 1.0), (rest, -1.0)):
        total = w[part].sum()
        r = (w[part] * y[part]).sum() / total
        z[part] = sign * w[part] * (y[part] - r) / total
    diff = (w[inside] * y[inside]).sum() / w[inside].sum() - (w[rest] * y[rest]).sum() / w[
        rest
    ].sum()
    codes = [category_codes(rows, c) for c in margins()]
    var = column_variances(rake_residuals(z, w, codes), category_codes(rows, "stratum"), None)
    return diff, 2 * norm.sf(abs(diff) / math.sqrt(var[0]))


@pytest.mark.parametrize(
    "filters", [Filters(), Filters(regions=("KZ-75", "KZ-79"), age_groups=("18-29", "30-44"))]
)
def test_above_below_test_is_rake_aware_with_its_cross_term(filters):
    numbers = weighted_standing(data(), filters, "ptc", "W2", draws=500)
    assert numbers.tested == numbers.regions.height
    for row in numbers.regions.iter_rows(named=True):
        _, p = frame_contrast_p("W2", row["region"], filters)
        assert close(row["p_value"], p), row


def test_region_filter_is_a_domain_of_the_raked_wave():
    chosen = Filters(regions=("KZ-75", "KZ-79"), sexes=("female",))
    numbers = weighted_standing(data(), chosen, "ptc", "W1", draws=500)
    assert set(numbers.regions.get_column("region")) == {"KZ-75", "KZ-79"}
    want = reference("W1", "c", by="region", filters=chosen)
    same(numbers.regions, want.filter(pl.col("region").is_in(chosen.regions)), "region")


def test_a_wave_without_margins_keeps_its_delivered_numbers():
    numbers = weighted_standing(data(), Filters(), "ptc", "W3", draws=500)
    assert numbers.weights == "delivered" and numbers.uncalibrated_waves == ("W3",)
    plain = region_standing(apply_filters(responses(), Filters()).filter(pl.col("wave") == "W3"),
                            draws=500)  # fmt: skip
    frames_close(numbers.regions, plain.regions)


def test_delivered_switch_gives_the_previous_numbers():
    off = Filters(weights="delivered")
    latest = apply_filters(responses(), off).filter(pl.col("wave") == "W2")
    frames_close(
        weighted_standing(data(), off, "ptc", "W2", draws=500).regions,
        region_standing(latest, draws=500).regions,
    )
    made = weighted_by_group(data(), off, "ptc", "W2", by="sex").estimates
    frames_close(made, composite_by_group(latest, "sex").drop("variable"))
    fb = feedback_numbers(data(), off, "ptc", "W2")
    assert fb.weights == "delivered"
    frames_close(fb.estimates, feedback_survey(latest))


def test_feedback_survey_side_equals_the_frame_rake():
    made = feedback_numbers(data(), Filters(), "ptc", "W1").estimates
    rows = wave_rows("W1").with_columns(
        got=pl.when("submitted_proposal").then("received_response"),
        sat=pl.when("received_response").then("response_satisfaction"),
    )
    checks = (("state_listens", "state_listens", False), ("got_response", "got", True),
              ("satisfaction", "sat", False))  # fmt: skip
    for variable, column, share in checks:
        estimator = survey_proportion if share else survey_mean
        want = estimator(rows, column, weight="weight", strata="stratum", domain="dom",
                         calibrate_to=margins(), ci="t").row(0, named=True)  # fmt: skip
        got = made.filter(pl.col("variable") == variable).row(0, named=True)
        assert close(got["estimate"], want["estimate"]) and close(got["se"], want["se"])


def test_ngo_trust_per_region_pools_the_years_raked_waves():
    urban = Filters(settlements=("urban",))  # a domain that is not a margin category
    made = trust_by_region(data(), urban, "ptc", 2024)
    assert made.weights == "calibrated"
    # both 2024 waves raked on their own, pooled per region: the respondents' z per wave
    for region in REGIONS:
        got = made.estimates.filter(pl.col("region") == region).row(0, named=True)
        zs, num, den = [], 0.0, 0.0
        for wave in ("W1", "W2"):
            rows = calibrated_weights(wave_rows(wave, urban), margins(), weight="weight", out="g")
            inside = ((rows.get_column("region") == region) & rows.get_column("dom")).to_numpy()
            w, y = rows.get_column("g").to_numpy(), rows.get_column("c").to_numpy()
            num += (w[inside] * y[inside]).sum()
            den += w[inside].sum()
            zs.append((rows, w, y, inside))
        r = num / den
        var = 0.0
        for rows, w, y, inside in zs:
            z = np.where(inside, w * (y - r) / den, 0.0)
            codes = [category_codes(rows, c) for c in margins()]
            var += column_variances(rake_residuals(z, w, codes),
                                    category_codes(rows, "stratum"), None)[0]  # fmt: skip
        assert close(got["estimate"], r) and close(got["se"], math.sqrt(var))
    plain = trust_by_region(data(), Filters(weights="delivered"), "ptc", 2024).estimates
    rows = apply_filters(responses(), Filters()).filter(pl.col("period_start").dt.year() == 2024)
    frames_close(plain, composite_by_region(rows))
    assert trust_by_region(data(), Filters(), "ptc", 2025).weights == "delivered"


def test_drivers_use_the_raked_wave_with_rake_aware_ses():
    men = Filters(sexes=("male",), wave_to="W2")  # the latest wave of 2024
    model = drivers_numbers(data(), men, "ptc", "trust_government")
    assert model.weights == "calibrated" and model.fitted
    rows = calibrated_weights(wave_rows("W2", men), margins(), weight="weight", out="weight")
    codes = [category_codes(rows, c) for c in margins()]
    rows = rows.with_columns(in_domain=pl.col("dom"))
    want = trust_drivers(rows, raked_on=codes)
    assert want.terms.height == model.terms.height
    for a, b in zip(model.terms.iter_rows(), want.terms.iter_rows(), strict=True):
        assert a[0] == b[0] and close(a[3], b[3]) and close(a[4], b[4])
    plain = drivers_numbers(data(), replace(men, weights="delivered"), "ptc", "trust_government")
    assert plain.weights == "delivered"
    assert not np.allclose(plain.terms.get_column("estimate"), model.terms.get_column("estimate"))
    later = drivers_numbers(data(), Filters(sexes=("male",)), "ptc", "trust_government")
    assert later.weights == "delivered" and later.uncalibrated_waves == ("W3",)


@pytest.fixture(scope="module")
def apistrat() -> pl.DataFrame:
    return pl.read_csv("/work/shared/reference/api/apistrat.csv", null_values="NA")


# R: dstrat <- svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc);
# r <- rake(dstrat, list(~stype, ~yr.rnd), list(pop.types, pop.yr)) with the margins;
# svyglm(api00 ~ ell + meals + mobility, design=r) and design=subset(r, sch.wide == "Yes")
R_FULL = {"estimate": [823.394394594516, -0.465956817869, -3.160788250555, 0.179543658123],
          "se": [10.168660699774, 0.396282346396, 0.279744292302, 0.435106763903]}  # fmt: skip
R_SUBSET = {"estimate": [841.365467311061, -0.310397860458, -3.321859143951, 0.178700806354],
            "se": [10.245221050300, 0.397390710836, 0.285978133239, 0.420191819985]}  # fmt: skip
R_FIXED_SE = [10.077735949885, 0.391973403223, 0.283946506417, 0.393218362023]  # dstrat


@pytest.mark.parametrize("subset", [False, True])
def test_regression_on_a_raked_design_matches_r_svyglm(apistrat, subset):
    api_margins = {"stype": {"E": 4421, "H": 755, "M": 1018}, "yr.rnd": {"No": 5600, "Yes": 594}}
    raked = calibrated_weights(apistrat, api_margins, weight="pw", out="rw")
    if subset:  # R's subset of a raked design: the other rows stay, with no score
        raked = raked.with_columns(
            pl.when(pl.col("sch.wide") == "Yes").then("api00").alias("api00")
        )
    codes = [category_codes(raked, c) for c in api_margins]
    fit = survey_regression(raked, "api00", ["ell", "meals", "mobility"], weight="rw",
                            strata="stype", fpc="fpc", raked_on=codes, min_n=100)  # fmt: skip
    want = R_SUBSET if subset else R_FULL
    for column in ("estimate", "se"):
        for got, r in zip(fit.get_column(column), want[column], strict=True):
            assert math.isclose(got, r, rel_tol=1e-6), (column, got, r)
    plain = survey_regression(apistrat, "api00", ["ell", "meals", "mobility"], weight="pw",
                              strata="stype", fpc="fpc")  # fmt: skip
    for got, r in zip(plain.get_column("se"), R_FIXED_SE, strict=True):
        assert math.isclose(got, r, rel_tol=1e-6)


def test_pooling_one_wave_gives_the_single_wave_se():
    from queries.metrics.page_weights import pooled_estimates, weighted_estimates

    y = pl.mean_horizontal("trust_government", "trust_courts")
    sex = Filters(sexes=("female",))
    pooled = pooled_estimates(data(), sex, "ptc", y, by="region", waves=["W1"]).estimates
    alone = weighted_estimates(data(), sex, "ptc", {"y": y}, by=["region"], waves=["W1"])
    assert pooled.height == 3
    frames_close(pooled, alone.estimates.drop("variable"))
