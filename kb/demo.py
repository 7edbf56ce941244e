"""Demo help-centre content for `seed_demo`: a few real-looking articles in English,
Portuguese and Russian. Idempotent: articles that exist (by slug) are left alone."""

from __future__ import annotations

from tickets.services.events import Actor

from .models import Article, ArticleVisibility, Category, Section
from .services import article_create, article_publish, article_translation_save

CATEGORIES = [
    ("account", "Account and sign-in", {"pt-br": "Conta e acesso", "ru": "Аккаунт и вход"},
     "Passwords, profile, security."),
    ("billing", "Billing", {"pt-br": "Cobrança", "ru": "Оплата"}, "Plans, invoices and refunds."),
    ("orders", "Orders and delivery", {"pt-br": "Pedidos e entrega", "ru": "Заказы и доставка"},
     "Tracking, delivery times, returns."),
]  # fmt: skip

# slug, category, section (or ""), tags, visibility, {language: (title, summary, body)}
ARTICLES = [
    ("reset-password", "account", "security", ["password", "login"], ArticleVisibility.PUBLIC, {
        "en": ("Reset your password", "Get a reset link by email and choose a new password.",
               "Forgot your password? You can set a new one in a minute.\n\n## Steps\n\n"
               "1. Open the sign-in page and choose **Forgot password**.\n2. Type the email address of your account.\n"
               "3. Open the reset link we email you (it works for 1 hour) and choose a new password.\n\n"
               "> No email after 5 minutes? Look in the spam folder, then write to us."),
        "pt-br": ("Redefinir sua senha", "Receba um link por e-mail e escolha uma nova senha.",
                  "Esqueceu a senha? Você pode criar uma nova em um minuto.\n\n## Passos\n\n"
                  "1. Abra a página de acesso e escolha **Esqueci a senha**.\n2. Digite o e-mail da sua conta.\n"
                  "3. Abra o link que enviamos por e-mail (vale por 1 hora) e escolha uma nova senha.\n\n"
                  "> Não recebeu o e-mail em 5 minutos? Veja a pasta de spam e depois fale conosco."),
        "ru": ("Как сбросить пароль", "Получите ссылку по почте и задайте новый пароль.",
               "Забыли пароль? Новый можно задать за минуту.\n\n## Шаги\n\n"
               "1. Откройте страницу входа и нажмите **Забыли пароль**.\n2. Введите адрес почты вашего аккаунта.\n"
               "3. Откройте ссылку из письма (она действует 1 час) и задайте новый пароль.\n\n"
               "> Письма нет через 5 минут? Проверьте папку «Спам», затем напишите нам."),
    }),
    ("two-factor-sign-in", "account", "security", ["security", "login"], ArticleVisibility.PUBLIC, {
        "en": ("Turn on two-factor sign-in", "Protect your account with a one-time code.",
               "Two-factor sign-in asks for a code from your phone after the password.\n\n"
               "1. Open **Profile → Security**.\n2. Scan the QR code with an authenticator app.\n"
               "3. Type the six-digit code to confirm and keep the recovery codes somewhere safe."),
        "pt-br": ("Ativar a verificação em duas etapas", "Proteja sua conta com um código temporário.",
                  "A verificação em duas etapas pede um código do seu celular depois da senha.\n\n"
                  "1. Abra **Perfil → Segurança**.\n2. Leia o código QR com um aplicativo autenticador.\n"
                  "3. Digite o código de seis dígitos e guarde os códigos de recuperação."),
        "ru": ("Двухфакторный вход", "Защитите аккаунт одноразовым кодом.",
               "При двухфакторном входе после пароля нужен код с телефона.\n\n"
               "1. Откройте **Профиль → Безопасность**.\n2. Отсканируйте QR-код приложением-аутентификатором.\n"
               "3. Введите шестизначный код и сохраните коды восстановления."),
    }),
    ("download-invoice", "billing", "invoices", ["invoice", "billing"], ArticleVisibility.PUBLIC, {
        "en": ("Download an invoice", "Every invoice is a PDF under Billing → Invoices.",
               "Every invoice is under **Billing → Invoices** as a PDF.\n\n| Plan | Invoiced |\n|---|---|\n"
               "| Monthly | on the 1st of each month |\n| Yearly | once a year |\n\n"
               "Need your company's tax number on it? Add it under **Billing → Details** before the next invoice."),
        "pt-br": ("Baixar uma fatura", "Toda fatura está em PDF em Cobrança → Faturas.",
                  "Todas as faturas ficam em **Cobrança → Faturas** em PDF.\n\n"
                  "Precisa do CNPJ na fatura? Informe em **Cobrança → Dados** antes da próxima fatura."),
        "ru": ("Как скачать счёт", "Все счета лежат в PDF в разделе Оплата → Счета.",
               "Все счета лежат в разделе **Оплата → Счета** в формате PDF.\n\n"
               "Нужен ИНН компании в счёте? Укажите его в **Оплата → Реквизиты** до следующего счёта."),
    }),
    ("request-refund", "billing", "", ["refund", "billing"], ArticleVisibility.PUBLIC, {
        "en": ("Request a refund", "Refunds within 14 days of payment, back to the same card.",
               "You can ask for a refund within **14 days** of a payment.\n\n1. Open **Billing → Payments**.\n"
               "2. Choose the payment and press **Request refund**.\n\n"
               "The money goes back to the same card in 5–10 business days."),
        "pt-br": ("Pedir reembolso", "Reembolso em até 14 dias após o pagamento, no mesmo cartão.",
                  "Você pode pedir reembolso em até **14 dias** após o pagamento.\n\n"
                  "1. Abra **Cobrança → Pagamentos**.\n2. Escolha o pagamento e clique em **Pedir reembolso**.\n\n"
                  "O valor volta para o mesmo cartão em 5 a 10 dias úteis."),
        "ru": ("Как вернуть деньги", "Возврат в течение 14 дней после оплаты, на ту же карту.",
               "Вернуть деньги можно в течение **14 дней** после оплаты.\n\n1. Откройте **Оплата → Платежи**.\n"
               "2. Выберите платёж и нажмите **Запросить возврат**.\n\n"
               "Деньги вернутся на ту же карту за 5–10 рабочих дней."),
    }),
    ("track-order", "orders", "", ["delivery", "order"], ArticleVisibility.PUBLIC, {
        "en": ("Track your order", "Follow your parcel with the tracking number from the shipping email.",
               "When your order ships we email a **tracking number**.\n\n"
               "Open **Orders**, choose the order and press **Track** to see where the parcel is. "
               "Couriers deliver within 3 business days in most cities."),
        "pt-br": ("Rastrear seu pedido", "Acompanhe a encomenda com o código de rastreio do e-mail de envio.",
                  "Quando o pedido é enviado, mandamos um **código de rastreio** por e-mail.\n\n"
                  "Abra **Pedidos**, escolha o pedido e clique em **Rastrear**. "
                  "A entrega leva até 3 dias úteis na maioria das cidades."),
        "ru": ("Как отследить заказ", "Следите за посылкой по трек-номеру из письма об отправке.",
               "Когда заказ отправлен, мы присылаем **трек-номер** по почте.\n\n"
               "Откройте **Заказы**, выберите заказ и нажмите **Отследить**. "
               "Курьер доставляет за 3 рабочих дня в большинстве городов."),
    }),
    ("refund-overrides", "billing", "", ["refund"], ArticleVisibility.INTERNAL, {
        "en": ("Refund overrides (agents)", "When an agent may refund after 14 days.",
               "Agents may approve a refund after 14 days **once per customer per year** when the service was "
               "down for them. Add the tag `refund-override` and an internal note with the reason."),
    }),
]  # fmt: skip


def kb_demo_seed() -> int:
    """Create the demo categories and articles that do not exist yet; returns how many articles."""
    actor = Actor.system()
    categories = {}
    for position, (slug, name, names, description) in enumerate(CATEGORIES):
        categories[slug], _created = Category.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "translated_names": names, "description": description, "position": position},
        )
    sections = {
        "security": Section.objects.get_or_create(
            category=categories["account"], slug="security",
            defaults={"name": "Security", "translated_names": {"pt-br": "Segurança", "ru": "Безопасность"}},
        )[0],
        "invoices": Section.objects.get_or_create(
            category=categories["billing"], slug="invoices",
            defaults={"name": "Invoices", "translated_names": {"pt-br": "Faturas", "ru": "Счета"}},
        )[0],
    }  # fmt: skip
    created = 0
    for slug, category, section, tags, visibility, texts in ARTICLES:
        if Article.objects.filter(slug=slug).exists():
            continue
        title, summary, body = texts["en"]
        article = article_create(
            slug=slug,
            category=categories[category],
            section=sections.get(section),
            title=title,
            summary=summary,
            body_markdown=body,
            tags=tags,
            visibility=visibility,
            actor=actor,
        )
        for language, (title, summary, body) in texts.items():
            if language != "en":
                article_translation_save(
                    article=article, language=language, title=title, summary=summary, body_markdown=body, actor=actor
                )
        article_publish(article=article, actor=actor)
        created += 1
    return created
