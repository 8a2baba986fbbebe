"""The words staff write for the contract's closed vocabularies (matched lower-case), mapped to
the canonical values stored: yes/no, missing-answer codes, settlement, sex, sources, statuses;
and the shapes of wave and period labels."""

from __future__ import annotations

from queries.vocab import ProposalSource, ProposalStatus, values

YES = ("yes", "y", "1", "true", "t", "да", "д", "иә", "ия", "и")
NO = ("no", "n", "0", "false", "f", "нет", "н", "жоқ", "жок")
MISSING_CODES = (
    "dk",
    "na",
    "n/a",
    "-1",
    "98",
    "99",
    "не знаю",
    "білмеймін",
    "затрудняюсь ответить",
)
SETTLEMENT = {
    "urban": "urban",
    "rural": "rural",
    "қала": "urban",
    "ауыл": "rural",
    "город": "urban",
    "село": "rural",
    "city": "urban",
    "village": "rural",
    "городской": "urban",
    "сельский": "rural",
}
SEX = {
    "male": "male",
    "female": "female",
    "m": "male",
    "f": "female",
    "ер": "male",
    "әйел": "female",
    "м": "male",
    "ж": "female",
    "муж": "male",
    "жен": "female",
    "мужской": "male",
    "женский": "female",
    "ер адам": "male",
    "әйел адам": "female",
}
SURVEY_SOURCE = {
    "public_trust_council": "public_trust_council",
    "kurultai": "kurultai",
    "public trust council": "public_trust_council",
    "national council of public trust": "public_trust_council",
    "совет общественного доверия": "public_trust_council",
    "қоғамдық сенім кеңесі": "public_trust_council",
    "ptc": "public_trust_council",
    "national kurultai": "kurultai",
    "курултай": "kurultai",
    "национальный курултай": "kurultai",
    "құрылтай": "kurultai",
    "ұлттық құрылтай": "kurultai",
    "национальный совет общественного доверия": "public_trust_council",
    "ұлттық қоғамдық сенім кеңесі": "public_trust_council",
}
# Age groups the survey is analysed by (and population margins are given in), youngest first.
AGE_GROUPS = ("under_18", "18-29", "30-44", "45-59", "60+")
TOTAL = "total"  # a population margin over every sex or every age group
AGE_GROUP = {
    **{g: g for g in AGE_GROUPS},
    **{g.replace("-", "–"): g for g in AGE_GROUPS},
    "under 18": "under_18",
    "<18": "under_18",
    "до 18": "under_18",
    "18 жасқа дейін": "under_18",
    "60 and over": "60+",
    "60 и старше": "60+",
    "60 және одан жоғары": "60+",
    TOTAL: TOTAL,
    "all": TOTAL,
    "всего": TOTAL,
    "все": TOTAL,
    "барлығы": TOTAL,
}
SEX_OR_TOTAL = {**SEX, "total": TOTAL, "all": TOTAL, "всего": TOTAL, "оба пола": TOTAL,
                "барлығы": TOTAL}  # fmt: skip
WAVE_PATTERN = r"^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"
PERIOD_PATTERN = r"^\d{4}(-Q[1-4])?$"
# Names staff use for the proposals register's vocabularies (matched lower-case).
PROPOSAL_SOURCE_NAMES = {
    **{s: s for s in values(ProposalSource)},
    **SURVEY_SOURCE,
    "e-otinish": "eotinish",
    "eötinish": "eotinish",
    "е-отиниш": "eotinish",
    "другое": "other",
    "басқа": "other",
}
STATUS_NAMES = {
    **{s: s for s in values(ProposalStatus)},
    "in review": "in_review",
    "получено": "received",
    "на рассмотрении": "in_review",
    "отвечено": "answered",
    "принято": "accepted",
    "реализовано": "implemented",
    "отклонено": "rejected",
    "қабылданды": "received",
    "қаралуда": "in_review",
    "жауап берілді": "answered",
    "қолдау тапты": "accepted",
    "іске асырылды": "implemented",
    "қабылданбады": "rejected",
}
