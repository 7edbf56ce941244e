"""Small text helpers shared by search analytics, suggestions and content-gap detection."""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^\w\s-]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_][\w-]*", re.UNICODE)
STEM_LENGTH = 6

# Common words of the three help-centre languages that say nothing about the subject.
STOP_WORDS = frozenset(
    """
    about after again also another been before being cannot could does doing down from have having here
    help hello please thanks thank there their them they this that these those very what when where which
    while with would your yours into just more most much only over same some such than then through under
    until want will issue problem question need still working work
    para como mais pelo pela pelos pelas está estou esta este isso essa esse minha meu meus minhas seus suas
    sobre quando porque ainda obrigado obrigada olá favor problema preciso pode consigo fazer
    это этот эта эти как что чтобы когда где почему могу можно нужно пожалуйста спасибо здравствуйте
    меня мне мой моя мои ваш ваша ваши есть нету проблема вопрос помогите
    """.split()
)


def query_normalise(text: str) -> str:
    """Lower case, punctuation out, single spaces: "How do I  RESET?" -> "how do i reset"."""
    text = _NOT_WORD.sub(" ", (text or "").replace("\x00", " ").lower())
    return _SPACES.sub(" ", text).strip()[:200]


def keywords(text: str) -> list[str]:
    """Distinct significant words, crudely stemmed (their first letters), in order of appearance:
    "Refunds for my refund" -> ["refund"]."""
    seen: dict[str, None] = {}
    for word in _WORD.findall((text or "").lower()):
        if len(word) < 4 or word in STOP_WORDS:
            continue
        seen.setdefault(word[:STEM_LENGTH], None)
    return list(seen)
