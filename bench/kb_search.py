"""Help-centre search speed at scale: N articles, each in English, Portuguese and Russian
(3N texts), then p50 / p95 / p99 latency of `article_search` (full-text search with ranking and
snippets, as a public reader) and of `article_suggest` (the web form's suggestions) per language.

    createdb -h 127.0.0.1 -U postgres kb_bench
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/kb_bench .venv/bin/python bench/kb_search.py --articles 10000

The articles are generated once (kept between runs; --fresh starts over) from per-language
vocabularies, so word frequencies look like a real help centre: a few common words in many
articles and many rarer ones.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from _setup import django_setup

VOCABULARY = {
    "en": (
        "account password invoice refund payment card delivery parcel courier order tracking return label "
        "subscription plan upgrade downgrade cancel receipt address profile email phone security login "
        "two-factor device app notification export report discount coupon warranty repair battery screen "
        "charger shipping customs tax company team permission integration webhook token backup restore "
        "language currency region storage upload download printer scanner router network"
    ).split(),
    "pt-br": (
        "conta senha fatura reembolso pagamento cartão entrega encomenda transportadora pedido rastreio "
        "devolução etiqueta assinatura plano cancelamento recibo endereço perfil telefone segurança acesso "
        "dispositivo aplicativo notificação relatório desconto cupom garantia conserto bateria tela "
        "carregador frete imposto empresa equipe permissão integração cópia restauração idioma moeda "
        "região armazenamento impressora roteador rede boleto parcelamento nota"
    ).split(),
    "ru": (
        "аккаунт пароль счёт возврат оплата карта доставка посылка курьер заказ отслеживание этикетка "
        "подписка тариф отмена чек адрес профиль почта телефон безопасность вход устройство приложение "
        "уведомление отчёт скидка купон гарантия ремонт батарея экран зарядка налог компания команда "
        "доступ интеграция токен резервная копия восстановление язык валюта регион хранилище загрузка "
        "принтер сканер роутер сеть"
    ).split(),
}
FILLER = {
    "en": "how to change find open check update the your a for in with after before when if you can".split(),
    "pt-br": "como alterar encontrar abrir verificar atualizar o a seu sua para em com depois antes quando".split(),
    "ru": "как изменить найти открыть проверить обновить ваш для в с после до когда если можно".split(),
}


def _text(rng: random.Random, language: str, n: int, topic: list[str]) -> str:
    """Mostly ordinary words, the article's own topic words, and now and then another subject."""
    words, filler = VOCABULARY[language], FILLER[language]
    out = []
    for _ in range(n):
        roll = rng.random()
        out.append(rng.choice(topic) if roll < 0.25 else rng.choice(words) if roll < 0.27 else rng.choice(filler))
    return " ".join(out)


def generate(count: int, seed: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from kb.models import Article, ArticleStatus, ArticleTranslation, Category
    from kb.rendering import render_markdown
    from kb.services import search_vectors_refresh

    rng = random.Random(seed)
    category, _created = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    have = Article.objects.filter(category=category).count()
    now = timezone.now()
    batch = 1000
    started = time.perf_counter()
    for start in range(have, count, batch):
        with transaction.atomic():
            articles = Article.objects.bulk_create(
                [
                    Article(slug=f"bench-{i}", category=category, status=ArticleStatus.PUBLISHED, published_at=now)
                    for i in range(start, min(start + batch, count))
                ]
            )
            texts = []
            for article in articles:
                picks = rng.sample(range(len(VOCABULARY["en"])), 3)
                for language in VOCABULARY:
                    topic = [VOCABULARY[language][i % len(VOCABULARY[language])] for i in picks]
                    title = _text(rng, language, rng.randint(3, 7), topic).capitalize()
                    body = "\n\n".join(
                        _text(rng, language, rng.randint(30, 60), topic) for _ in range(rng.randint(3, 8))
                    )
                    texts.append(
                        ArticleTranslation(
                            article=article,
                            language=language,
                            title=title[:200],
                            body_markdown=body,
                            body_html=render_markdown(body),
                        )
                    )
            ArticleTranslation.objects.bulk_create(texts)
        print(f"  generated {min(start + batch, count)} / {count} articles", flush=True)
    if have < count:
        search_vectors_refresh()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE kb_article, kb_articletranslation")
        print(f"generated in {time.perf_counter() - started:.1f} s", flush=True)


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300, help="queries per language (default 300)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="delete the generated articles first")
    args = parser.parse_args()
    django_setup()

    from django.contrib.auth.models import AnonymousUser

    from kb.models import Article, ArticleTranslation
    from kb.selectors import article_search, article_suggest

    if args.fresh:
        Article.objects.filter(slug__startswith="bench-").delete()
    generate(args.articles, args.seed)
    print(f"texts: {ArticleTranslation.objects.count()} ({Article.objects.count()} articles x languages)")

    rng = random.Random(args.seed + 1)
    reader = AnonymousUser()
    print(f"{'language':9} {'what':8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'avg hits':>9}")
    for language, words in VOCABULARY.items():
        queries = [" ".join(rng.sample(words, rng.randint(1, 3))) for _ in range(args.queries)]
        for what in ("search", "suggest"):
            timings, hits = [], []
            for query in queries:
                begin = time.perf_counter()
                if what == "search":
                    found = article_search(query=query, user=reader, language=language)
                else:
                    found = article_suggest(f"Hello, {query} {FILLER[language][0]}", language)
                timings.append((time.perf_counter() - begin) * 1000)
                hits.append(len(found))
            p50, p95, p99 = percentiles(timings)
            print(f"{language:9} {what:8} {p50:8.1f} {p95:8.1f} {p99:8.1f} {statistics.mean(hits):9.1f}", flush=True)


if __name__ == "__main__":
    main()
