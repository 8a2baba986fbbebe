"""The name of every contract column in Kazakh, Russian and English, shown to staff on the upload
page (column mapping, reports) and in the templates' documentation. The dashboard's translation
catalogue reads these as ``contract.<column>``; a test checks each column has one."""

from __future__ import annotations


def _l(kk: str, ru: str, en: str) -> dict[str, str]:
    return {"kk": kk, "ru": ru, "en": en}


LABELS: dict[str, dict[str, str]] = {
    "respondent_id": _l("Респондент нөмірі", "Номер респондента", "Respondent ID"),
    "source": _l("Дереккөз", "Источник", "Source"),
    "wave": _l("Толқын", "Волна", "Wave"),
    "interview_date": _l("Сұхбат күні", "Дата интервью", "Interview date"),
    "region": _l("Өңір", "Регион", "Region"),
    "settlement": _l("Елді мекен түрі", "Тип поселения", "Settlement"),
    "sex": _l("Жынысы", "Пол", "Sex"),
    "age": _l("Жасы", "Возраст", "Age"),
    "weight": _l("Салмақ", "Вес", "Weight"),
    "trust_government": _l("Үкіметке сенім", "Доверие правительству", "Trust in government"),
    "trust_parliament": _l("Парламентке сенім", "Доверие парламенту", "Trust in parliament"),
    "trust_akimat": _l("Әкімдікке сенім", "Доверие акимату", "Trust in the akimat"),
    "trust_courts": _l("Соттарға сенім", "Доверие судам", "Trust in the courts"),
    "trust_police": _l("Полицияға сенім", "Доверие полиции", "Trust in the police"),
    "trust_ngos": _l("ҮЕҰ-ға сенім", "Доверие НПО", "Trust in NGOs"),
    "trust_media": _l("БАҚ-қа сенім", "Доверие СМИ", "Trust in the media"),
    "trust_item": _l("Институтқа сенім", "Доверие институту", "Trust in an institution"),
    "state_listens": _l(
        "«Мемлекет мен сияқтыларды тыңдайды»",
        "«Государство слышит таких, как я»",
        "'The state listens to people like me'",
    ),
    "participated_consultation": _l(
        "Қоғамдық талқылауға қатысты",
        "Участвовал(а) в общественном обсуждении",
        "Took part in a public consultation",
    ),
    "submitted_proposal": _l(
        "Ұсыныс немесе өтініш жіберді",
        "Направил(а) предложение или обращение",
        "Sent a proposal or appeal",
    ),
    "received_response": _l("Жауап алды", "Получил(а) ответ", "Received a response"),
    "response_satisfaction": _l(
        "Жауапқа қанағаттану", "Удовлетворённость ответом", "Satisfaction with the response"
    ),
    "ngo_involvement": _l("ҮЕҰ-ға қатысу", "Участие в НПО", "Involved in an NGO"),
    "period": _l("Кезең", "Период", "Period"),
    "registered_ngos": _l("Тіркелген ҮЕҰ", "Зарегистрированные НПО", "Registered NGOs"),
    "active_ngos": _l("Белсенді ҮЕҰ", "Действующие НПО", "Active NGOs"),
    "grants_count": _l("Гранттар саны", "Число грантов", "Number of grants"),
    "grants_kzt": _l("Гранттар сомасы, теңге", "Сумма грантов, тенге", "Grants, tenge"),
    "volunteers": _l("Еріктілер", "Волонтёры", "Volunteers"),
    "beneficiaries": _l("Пайда алушылар", "Благополучатели", "Beneficiaries"),
    "proposal_id": _l("Ұсыныс нөмірі", "Номер предложения", "Proposal ID"),
    "topic": _l("Тақырып", "Тема", "Topic"),
    "submitted_on": _l("Жіберілген күні", "Дата подачи", "Submitted on"),
    "status": _l("Мәртебе", "Статус", "Status"),
    "answered_on": _l("Жауап берілген күні", "Дата ответа", "Answered on"),
    "implemented_on": _l("Іске асырылған күні", "Дата реализации", "Implemented on"),
    "age_group": _l("Жас тобы", "Возрастная группа", "Age group"),
    "year": _l("Жыл", "Год", "Year"),
    "count": _l("Тұрғындар саны", "Численность населения", "Residents"),
}
