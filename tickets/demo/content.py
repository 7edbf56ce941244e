"""Invented demo content: people, organisations, teams and ticket conversations.

Everything here is made up for the demo. Domains use the reserved `.example` top-level
domain, phone numbers the fictional 555 ranges, so nothing points at a real person.
Customer-facing texts exist in every interface language (en, pt-br, ru); internal notes are
in English, the team's working language.
"""

from __future__ import annotations

import random
import unicodedata

LANGUAGE_WEIGHTS = {"en": 55, "pt-br": 25, "ru": 20}

TIME_ZONES = {
    "en": ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London"],
    "pt-br": ["America/Sao_Paulo", "America/Recife", "America/Manaus"],
    "ru": ["Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk"],
}

# Free-mail style domains for customers who do not write from a company address.
FREE_MAIL_DOMAINS = {
    "en": ["mailbox.example", "postbird.example", "inboxly.example"],
    "pt-br": ["correio.example", "caixapostal.example"],
    "ru": ["pochta.example", "yashchik.example"],
}

# Phone number shapes per language: (country code, fictional prefix, digits that follow).
PHONE_PLANS = {
    "en": ("1", "555", 7),
    "pt-br": ("55", "1195550", 4),
    "ru": ("7", "999555", 4),
}

_EN_FIRST = [
    "Olivia", "Liam", "Harper", "Noah", "Amelia", "Ethan", "Grace", "Mason", "Chloe", "Lucas",
    "Nora", "Caleb", "Ruby", "Owen", "Hazel", "Isaac", "Violet", "Wyatt", "Stella", "Julian",
    "Maya", "Declan", "Iris", "Felix",
]
_EN_LAST = [
    "Whitaker", "Holloway", "Pemberton", "Ashford", "Calloway", "Dunmore", "Fairbanks",
    "Greaves", "Hartley", "Kingsley", "Lockwood", "Merriman", "Norwood", "Prescott",
    "Radcliffe", "Sutherland", "Thornbury", "Underhill", "Vance", "Winslow", "Yardley", "Brennan",
]
_PT_FIRST = [
    "Ana", "João", "Mariana", "Pedro", "Beatriz", "Lucas", "Camila", "Rafael", "Larissa",
    "Gustavo", "Fernanda", "Thiago", "Juliana", "Felipe", "Letícia", "Rodrigo", "Patrícia",
    "Bruno", "Aline", "Diego", "Renata", "Vinícius",
]
_PT_LAST = [
    "Souza", "Oliveira", "Pereira", "Carvalho", "Ribeiro", "Almeida", "Barbosa", "Cardoso",
    "Teixeira", "Moreira", "Nogueira", "Rocha", "Azevedo", "Fonseca", "Pacheco", "Siqueira",
    "Vasconcelos", "Macedo", "Queiroz", "Tavares",
]
_RU_FIRST_FEMALE = [
    "Анна", "Мария", "Екатерина", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана",
    "Юлия", "Дарья", "Ксения", "Полина",
]
_RU_FIRST_MALE = [
    "Алексей", "Дмитрий", "Сергей", "Андрей", "Михаил", "Иван", "Николай", "Павел",
    "Артём", "Егор", "Максим", "Константин",
]
# (masculine, feminine) forms of the same surname.
_RU_LAST = [
    ("Соколов", "Соколова"), ("Лебедев", "Лебедева"), ("Морозов", "Морозова"),
    ("Волков", "Волкова"), ("Зайцев", "Зайцева"), ("Орлов", "Орлова"),
    ("Белов", "Белова"), ("Ковалёв", "Ковалёва"), ("Громов", "Громова"),
    ("Никитин", "Никитина"), ("Фролов", "Фролова"), ("Быстров", "Быстрова"),
    ("Журавлёв", "Журавлёва"), ("Тихонов", "Тихонова"),
]

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}


def person_name(rng: random.Random, language: str) -> tuple[str, str]:
    """An invented (first name, last name) that fits the language."""
    if language == "pt-br":
        return rng.choice(_PT_FIRST), rng.choice(_PT_LAST)
    if language == "ru":
        masculine, feminine = rng.choice(_RU_LAST)
        if rng.random() < 0.5:
            return rng.choice(_RU_FIRST_FEMALE), feminine
        return rng.choice(_RU_FIRST_MALE), masculine
    return rng.choice(_EN_FIRST), rng.choice(_EN_LAST)


def ascii_slug(text: str) -> str:
    """`Letícia` -> `leticia`, `Журавлёв` -> `zhuravlev`: for email addresses and handles."""
    lowered = "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())
    plain = unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain if ch.isalnum())


# name, tier, email domains, notes
ORGANIZATIONS = [
    ("Lumenfield Analytics", "enterprise", ["lumenfield.example", "lumenfield-labs.example"],
     "Annual contract; renewal talks start each March."),
    ("Corvid & Pike Outfitters", "premium", ["corvidpike.example"], "Outdoor gear retailer, 40 stores."),
    ("Brightwater Clinics", "enterprise", ["brightwater.example"], "Needs answers within business hours."),
    ("Tidewell Logistics", "premium", ["tidewell.example"], ""),
    ("Papelaria Sol Nascente", "standard", ["solnascente.example"], "Cliente desde 2019."),
    ("Cooperativa Vale Verde", "premium", ["valeverde.example"], ""),
    ("Severnaya Zvezda", "standard", ["severzvezda.example"], "Billing contact prefers Telegram."),
    ("Uralskie Masterskie", "premium", ["uralmaster.example"], ""),
    ("Quillstone Publishing", "standard", ["quillstone.example"], ""),
    ("Halcyon Bikes", "standard", ["halcyonbikes.example"], ""),
]

# Which organisations fit customers of each language.
ORGANIZATIONS_BY_LANGUAGE = {
    "en": ["Lumenfield Analytics", "Corvid & Pike Outfitters", "Brightwater Clinics",
           "Tidewell Logistics", "Quillstone Publishing", "Halcyon Bikes"],
    "pt-br": ["Papelaria Sol Nascente", "Cooperativa Vale Verde", "Tidewell Logistics"],
    "ru": ["Severnaya Zvezda", "Uralskie Masterskie", "Lumenfield Analytics"],
}

TEAMS = [
    ("Billing", "Payments, invoices, refunds and plan changes."),
    ("Technical support", "Sign-in trouble, app errors, integrations and how-to questions."),
    ("Shipping", "Deliveries, returns, exchanges and address changes."),
]

TAGS = [
    ("billing", "#0ea5e9"), ("refund", "#f97316"), ("invoice", "#14b8a6"), ("plan-change", "#6366f1"),
    ("login", "#ef4444"), ("bug", "#dc2626"), ("mobile-app", "#8b5cf6"), ("sync", "#a855f7"),
    ("how-to", "#22c55e"), ("delivery-delay", "#eab308"), ("wrong-item", "#f59e0b"),
    ("address", "#84cc16"), ("damaged", "#b91c1c"), ("vip", "#db2777"), ("feedback", "#64748b"),
    ("returning-customer", "#0f766e"),
]

# key, label, type, choices, required to solve, visible to customers, position
CUSTOM_FIELDS = [
    ("order_number", "Order number", "text", [], False, True, 1),
    ("plan", "Plan", "choice", ["Free", "Pro", "Business"], False, False, 2),
    ("device", "Device", "choice", ["iPhone", "Android", "Web browser", "Desktop app"], False, False, 3),
    ("refund_amount", "Refund amount", "number", [], False, False, 4),
]

# name, description, body, actions, team name (None: everyone)
MACROS = [
    (
        "Ask for order number",
        "When the customer did not include their order.",
        "Hi {{ customer.name }}, could you send me the order number? It starts with A- and is in "
        "your confirmation email.",
        [{"field": "status", "value": "pending"}],
        "Shipping",
    ),
    (
        "Refund issued",
        "Confirms a refund and solves the ticket.",
        "Good news: the refund is on its way. Banks usually show it within 5 business days.",
        [{"field": "status", "value": "solved"}, {"field": "add_tags", "value": ["refund"]}],
        "Billing",
    ),
    (
        "Clear app cache",
        "First step for most app errors.",
        "Please sign out, clear the app's cache in your phone settings and sign in again. "
        "Let me know whether the problem stays.",
        [{"field": "status", "value": "pending"}, {"field": "add_tags", "value": ["mobile-app"]}],
        "Technical support",
    ),
    (
        "Escalate to a manager",
        "Urgent priority and a note for the team lead.",
        "",
        [{"field": "priority", "value": "urgent"}],
        None,
    ),
]

GREETINGS = {"en": "Hi {first},", "pt-br": "Olá, {first}!", "ru": "Здравствуйте, {first}!"}
SIGN_OFFS = {"en": "Best regards,\n{agent}", "pt-br": "Um abraço,\n{agent}", "ru": "С уважением,\n{agent}"}
VOICE_PREFIX = {
    "en": "Voicemail transcript: ",
    "pt-br": "Transcrição da mensagem de voz: ",
    "ru": "Расшифровка голосового сообщения: ",
}

# Each topic: team, ticket type, tags, an optional custom field filler, and per language
# (subject, the customer's first message, the agent's first answer).
TOPICS = [
    {
        "team": "Billing", "type": "incident", "tags": ["billing", "refund"], "field": "plan",
        "text": {
            "en": (
                "Charged twice for the same month",
                "Hello, my card statement shows two identical charges for this month's "
                "subscription, one day apart. I only have one account. Can you refund the extra one?",
                "I can see both charges on our side as well; the second came from a retry after a "
                "timeout at the bank. I have started a refund for the duplicate.",
            ),
            "pt-br": (
                "Cobrança em dobro na mensalidade",
                "Boa tarde! Na fatura do cartão apareceram duas cobranças iguais da assinatura "
                "deste mês, com um dia de diferença. Tenho só uma conta. Podem estornar uma delas?",
                "Encontrei as duas cobranças aqui também; a segunda foi uma nova tentativa depois "
                "de uma falha de comunicação com o banco. Já pedi o estorno da duplicada.",
            ),
            "ru": (
                "Списали оплату дважды",
                "Добрый день! В выписке по карте две одинаковые оплаты подписки за этот месяц "
                "с разницей в один день. Аккаунт у меня один. Верните, пожалуйста, лишнюю.",
                "Вижу оба списания и у нас: второе произошло из-за повторной попытки после "
                "сбоя связи с банком. Я уже оформил возврат лишнего платежа.",
            ),
        },
    },
    {
        "team": "Billing", "type": "question", "tags": ["billing", "invoice"], "field": "plan",
        "text": {
            "en": (
                "Invoice with our company details",
                "Our finance team needs the last three invoices to show the company name and VAT "
                "number instead of my personal name. Is that possible?",
                "Yes: once the company details are on the account, invoices are issued in its "
                "name. I have added them and regenerated the last three invoices for you.",
            ),
            "pt-br": (
                "Nota fiscal com CNPJ da empresa",
                "Preciso que as últimas três notas saiam no nome da empresa, com o CNPJ, e não no "
                "meu CPF. O financeiro não aceita do jeito que está.",
                "Claro! Cadastrei os dados da empresa na conta e reemiti as três últimas notas "
                "com o CNPJ informado.",
            ),
            "ru": (
                "Счёт на юридическое лицо",
                "Бухгалтерии нужны последние три счёта на организацию с ИНН, а не на меня как "
                "физлицо. Можно переоформить?",
                "Да, конечно. Я добавил реквизиты организации в аккаунт и переоформил последние "
                "три счёта.",
            ),
        },
    },
    {
        "team": "Billing", "type": "question", "tags": ["refund"], "field": "refund_amount",
        "text": {
            "en": (
                "Still waiting for my refund",
                "You confirmed a refund two weeks ago but I still don't see the money on my card. "
                "Could you check what happened?",
                "The refund left us on the 3rd and the bank confirmed it. Card issuers can take up "
                "to ten business days to show it, so it should appear by the end of this week.",
            ),
            "pt-br": (
                "Estorno ainda não caiu",
                "Vocês confirmaram o estorno há duas semanas e até agora nada no cartão. "
                "Conseguem verificar?",
                "O estorno saiu daqui no dia 3 e o banco confirmou o recebimento. A operadora do "
                "cartão pode levar até dez dias úteis, então deve aparecer até o fim da semana.",
            ),
            "ru": (
                "Не пришёл возврат",
                "Две недели назад вы подтвердили возврат, но деньги на карту так и не пришли. "
                "Проверьте, пожалуйста.",
                "Возврат ушёл от нас третьего числа, банк его подтвердил. Зачисление на карту "
                "может занять до десяти рабочих дней, так что деньги должны прийти до конца недели.",
            ),
        },
    },
    {
        "team": "Billing", "type": "task", "tags": ["plan-change"], "field": "plan",
        "text": {
            "en": (
                "Switch us to the annual plan",
                "We'd like to move from monthly to annual billing and add five more seats. "
                "Will the unused part of this month be credited?",
                "Done: the account is on the annual plan with 15 seats, and the unused days of "
                "this month are credited on the new invoice.",
            ),
            "pt-br": (
                "Mudar para o plano anual",
                "Queremos passar do plano mensal para o anual e incluir mais cinco usuários. "
                "O que sobrou deste mês vira crédito?",
                "Prontinho: a conta já está no plano anual com 15 usuários, e os dias não usados "
                "deste mês entraram como crédito na nova fatura.",
            ),
            "ru": (
                "Перейти на годовой тариф",
                "Хотим перейти с помесячной оплаты на годовую и добавить ещё пять пользователей. "
                "Остаток за текущий месяц зачтётся?",
                "Готово: аккаунт переведён на годовой тариф на 15 пользователей, неиспользованные "
                "дни этого месяца зачтены в новом счёте.",
            ),
        },
    },
    {
        "team": "Technical support", "type": "incident", "tags": ["login"], "field": "device",
        "text": {
            "en": (
                "Can't sign in after resetting my password",
                "I reset my password this morning and now every sign-in attempt says the "
                "password is wrong, even right after setting a new one.",
                "Thanks for the details. Your account was locked after several attempts, which "
                "made the new password look wrong. I have unlocked it; please try once more.",
            ),
            "pt-br": (
                "Não consigo entrar depois de trocar a senha",
                "Redefini minha senha hoje cedo e agora toda tentativa de login diz que a senha "
                "está errada, mesmo logo depois de criar uma nova.",
                "Obrigado pelos detalhes. A conta foi bloqueada depois de várias tentativas, por "
                "isso a senha nova parecia errada. Já desbloqueei; pode tentar de novo?",
            ),
            "ru": (
                "Не могу войти после смены пароля",
                "Утром сбросил пароль, и теперь при каждом входе пишет, что пароль неверный, "
                "даже сразу после установки нового.",
                "Спасибо за подробности. Аккаунт заблокировался после нескольких попыток, "
                "поэтому новый пароль не подходил. Я снял блокировку, попробуйте ещё раз.",
            ),
        },
    },
    {
        "team": "Technical support", "type": "problem", "tags": ["bug", "mobile-app"], "field": "device",
        "text": {
            "en": (
                "App closes when I upload photos",
                "Every time I pick more than two photos to upload, the app closes without any "
                "message. Single photos work fine. I'm on the latest version.",
                "We could reproduce this with large photos from newer phones, and a fix is in "
                "the next app release. Until then, uploading two at a time avoids the crash.",
            ),
            "pt-br": (
                "Aplicativo fecha ao enviar fotos",
                "Sempre que escolho mais de duas fotos para enviar, o aplicativo fecha sem "
                "mensagem nenhuma. Uma foto só funciona. Estou na versão mais recente.",
                "Conseguimos reproduzir com fotos grandes de celulares mais novos, e a correção "
                "vem na próxima versão. Até lá, enviar de duas em duas evita o problema.",
            ),
            "ru": (
                "Приложение закрывается при загрузке фото",
                "Если выбрать больше двух фотографий, приложение просто закрывается без "
                "сообщений. По одной загружается нормально. Версия последняя.",
                "Мы воспроизвели это на больших фото с новых телефонов, исправление выйдет в "
                "следующем обновлении. Пока можно загружать по две фотографии за раз.",
            ),
        },
    },
    {
        "team": "Technical support", "type": "incident", "tags": ["sync", "bug"], "field": "device",
        "text": {
            "en": (
                "Calendar sync stopped working",
                "Since Monday, new bookings no longer appear in my calendar. Nothing changed on "
                "my side and the connection page still says it's connected.",
                "The calendar provider expired the access token on Monday. Please disconnect "
                "and reconnect the calendar under Settings > Integrations; bookings will catch up.",
            ),
            "pt-br": (
                "Sincronização da agenda parou",
                "Desde segunda-feira os novos agendamentos não aparecem mais na minha agenda. "
                "Não mudei nada e a tela de integração continua dizendo que está conectada.",
                "O provedor da agenda expirou o token de acesso na segunda. Desconecte e conecte "
                "de novo em Configurações > Integrações; os agendamentos serão sincronizados.",
            ),
            "ru": (
                "Перестала работать синхронизация календаря",
                "С понедельника новые записи не появляются в календаре. Я ничего не менял, а на "
                "странице интеграции по-прежнему написано «подключено».",
                "В понедельник провайдер календаря отозвал токен доступа. Отключите и снова "
                "подключите календарь в Настройки > Интеграции — записи подтянутся.",
            ),
        },
    },
    {
        "team": "Technical support", "type": "question", "tags": ["how-to"], "field": "device",
        "text": {
            "en": (
                "How do I export my contacts to a spreadsheet?",
                "I need a list of all my contacts with their phone numbers in Excel or CSV for "
                "an audit. Is there an export somewhere?",
                "Yes: open Contacts, choose Export in the top-right menu and pick CSV. The file "
                "arrives by email within a few minutes and opens in Excel.",
            ),
            "pt-br": (
                "Como exportar os contatos para planilha?",
                "Preciso de uma lista de todos os contatos com telefone em Excel ou CSV para uma "
                "auditoria. Existe alguma opção de exportar?",
                "Existe sim: abra Contatos, escolha Exportar no menu do canto superior direito e "
                "selecione CSV. O arquivo chega por e-mail em poucos minutos.",
            ),
            "ru": (
                "Как выгрузить контакты в таблицу?",
                "Для проверки нужен список всех контактов с телефонами в Excel или CSV. "
                "Где-нибудь есть выгрузка?",
                "Да: откройте «Контакты», в меню справа вверху выберите «Экспорт» и формат CSV. "
                "Файл придёт на почту через несколько минут.",
            ),
        },
    },
    {
        "team": "Shipping", "type": "incident", "tags": ["delivery-delay"], "field": "order_number",
        "text": {
            "en": (
                "My order hasn't arrived",
                "The tracking page has said 'in transit' for eight days now and the estimated "
                "delivery date has passed. Where is my package?",
                "I checked with the carrier: the parcel was held at their regional hub after a "
                "scanning error and left this morning. It should reach you within two days.",
            ),
            "pt-br": (
                "Meu pedido não chegou",
                "O rastreio está em 'em trânsito' há oito dias e a data prevista de entrega já "
                "passou. Onde está o meu pacote?",
                "Falei com a transportadora: o pacote ficou retido no centro regional por um "
                "erro de leitura e saiu hoje cedo. Deve chegar em até dois dias.",
            ),
            "ru": (
                "Заказ до сих пор не пришёл",
                "Уже восемь дней статус «в пути», а ожидаемая дата доставки прошла. "
                "Где моя посылка?",
                "Я связался со службой доставки: посылка задержалась на региональном складе "
                "из-за ошибки сканирования и сегодня утром уехала. Доставят в течение двух дней.",
            ),
        },
    },
    {
        "team": "Shipping", "type": "problem", "tags": ["wrong-item"], "field": "order_number",
        "text": {
            "en": (
                "Received the wrong size",
                "I ordered the jacket in medium but the box contained a large. The label on the "
                "box says medium. How do I exchange it?",
                "Sorry about the mix-up. I've emailed you a prepaid return label, and the medium "
                "ships as soon as the carrier scans the return.",
            ),
            "pt-br": (
                "Veio o tamanho errado",
                "Pedi a jaqueta no tamanho M, mas na caixa veio G. A etiqueta da caixa diz M. "
                "Como faço a troca?",
                "Desculpe pela confusão! Mandei por e-mail uma etiqueta de devolução já paga, e o "
                "tamanho M sai assim que a transportadora registrar a devolução.",
            ),
            "ru": (
                "Прислали не тот размер",
                "Заказывал куртку размера M, а в коробке оказалась L, хотя на этикетке указан M. "
                "Как её обменять?",
                "Извините за путаницу. Я отправил на почту оплаченную этикетку для возврата; "
                "размер M отправим, как только служба доставки примет возврат.",
            ),
        },
    },
    {
        "team": "Shipping", "type": "task", "tags": ["address"], "field": "order_number",
        "text": {
            "en": (
                "Please change the delivery address",
                "I just placed an order and noticed it will go to my old address. Can you change "
                "it to my new one before it ships?",
                "Caught it in time: the order had not left the warehouse, and the new address is "
                "now on the shipping label.",
            ),
            "pt-br": (
                "Alterar endereço de entrega",
                "Acabei de fazer um pedido e vi que vai para o meu endereço antigo. Dá para "
                "trocar pelo novo antes do envio?",
                "Deu tempo! O pedido ainda não tinha saído do depósito e o endereço novo já está "
                "na etiqueta de envio.",
            ),
            "ru": (
                "Изменить адрес доставки",
                "Только что оформил заказ и заметил, что он уйдёт на старый адрес. Можно "
                "поменять на новый до отправки?",
                "Успели: заказ ещё не покинул склад, новый адрес уже в накладной.",
            ),
        },
    },
    {
        "team": "Shipping", "type": "incident", "tags": ["damaged"], "field": "order_number",
        "text": {
            "en": (
                "Package arrived damaged",
                "The box was crushed on one side and two of the mugs inside are broken. I have "
                "photos of the box and the contents.",
                "I'm sorry your order arrived like that. No need to send anything back: a "
                "replacement for the two mugs is on its way, and the photos help with the claim.",
            ),
            "pt-br": (
                "Pacote chegou danificado",
                "A caixa chegou amassada de um lado e duas canecas quebraram. Tenho fotos da "
                "caixa e do conteúdo.",
                "Sinto muito que o pedido tenha chegado assim. Não precisa devolver nada: já "
                "enviamos duas canecas novas, e as fotos ajudam na reclamação com a transportadora.",
            ),
            "ru": (
                "Посылка пришла повреждённой",
                "Коробка смята с одной стороны, две кружки внутри разбиты. Есть фотографии "
                "коробки и содержимого.",
                "Очень жаль, что заказ пришёл в таком виде. Ничего возвращать не нужно: замена "
                "двух кружек уже в пути, а фото пригодятся для претензии перевозчику.",
            ),
        },
    },
]

CUSTOMER_FOLLOW_UPS = {
    "en": [
        "Thanks for the quick answer. I tried that, but it's still the same.",
        "Okay, here is the information you asked for. Let me know if you need anything else.",
        "Any news on this? It's been a couple of days.",
        "That helped partly, but there is one more thing I noticed since yesterday.",
        "Sorry, I missed your message. Yes, that's the right account.",
    ],
    "pt-br": [
        "Obrigada pela resposta rápida. Tentei, mas continua igual.",
        "Certo, seguem as informações que vocês pediram. Qualquer coisa me avisem.",
        "Alguma novidade? Já faz uns dois dias.",
        "Ajudou em parte, mas notei mais uma coisa desde ontem.",
        "Desculpe, não tinha visto a mensagem. Sim, é essa conta mesmo.",
    ],
    "ru": [
        "Спасибо за быстрый ответ. Попробовал, но ничего не изменилось.",
        "Хорошо, вот данные, которые вы просили. Если нужно что-то ещё, напишите.",
        "Есть новости? Прошло уже два дня.",
        "Отчасти помогло, но со вчерашнего дня заметил ещё кое-что.",
        "Извините, пропустил ваше сообщение. Да, это тот самый аккаунт.",
    ],
}

AGENT_FOLLOW_UPS = {
    "en": [
        "Thanks, that helps. I've passed the details to our specialists and will update you "
        "as soon as I hear back.",
        "I looked into it again and found the cause; I'm applying the change now.",
        "Thanks for your patience. I've checked the logs and everything looks correct on our side now.",
    ],
    "pt-br": [
        "Obrigado, isso ajuda. Passei os detalhes para os especialistas e aviso assim que tiver "
        "retorno.",
        "Olhei de novo e encontrei a causa; estou aplicando a correção agora.",
        "Obrigado pela paciência. Conferi os registros e do nosso lado está tudo certo agora.",
    ],
    "ru": [
        "Спасибо, это помогает. Я передал детали специалистам и напишу, как только получу ответ.",
        "Посмотрел ещё раз и нашёл причину, сейчас вношу исправление.",
        "Спасибо за терпение. Проверил журналы — с нашей стороны теперь всё в порядке.",
    ],
}

AGENT_QUESTIONS = {
    "en": [
        "Could you send me a screenshot of what you see? That will help me find the cause.",
        "Could you confirm the email address on the account, and roughly when it last worked?",
        "Can you let me know whether this happens on another device as well?",
    ],
    "pt-br": [
        "Pode me mandar um print da tela? Isso vai ajudar a achar a causa.",
        "Pode confirmar o e-mail da conta e mais ou menos quando funcionou pela última vez?",
        "Consegue verificar se acontece também em outro aparelho?",
    ],
    "ru": [
        "Пришлите, пожалуйста, снимок экрана — так будет проще найти причину.",
        "Подтвердите, пожалуйста, адрес почты аккаунта и примерно когда всё работало в последний раз.",
        "Проверьте, пожалуйста, повторяется ли это на другом устройстве.",
    ],
}

AGENT_RESOLUTIONS = {
    "en": [
        "Everything should be sorted now. I'll mark this as solved; just reply if anything "
        "comes up again.",
        "Glad we could fix this. I'm closing the request for now, and a reply will reopen it.",
    ],
    "pt-br": [
        "Agora deve estar tudo certo. Vou marcar como resolvido; é só responder se algo "
        "acontecer de novo.",
        "Que bom que resolvemos! Vou encerrar o chamado por enquanto; se responder, ele reabre.",
    ],
    "ru": [
        "Теперь всё должно работать. Отмечаю обращение как решённое; если что-то повторится, "
        "просто ответьте на это сообщение.",
        "Рад, что удалось решить. Пока закрываю обращение — ваш ответ откроет его снова.",
    ],
}

INTERNAL_NOTES = [
    "Checked the payment provider dashboard: matches what the customer describes.",
    "Second report of this today; linking to the known issue so engineering sees the volume.",
    "Customer is on an enterprise contract, keep the tone formal and copy the account manager.",
    "Waiting for the carrier's claim team; they promised an answer within 48 hours.",
    "Reproduced on a test account with the same settings. Notes and steps in the bug tracker.",
    "Offered a goodwill credit, approved by the team lead.",
    "Asked engineering whether the fix is in this week's release.",
]
