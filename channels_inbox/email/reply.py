"""Finding the visible reply in an email body: the new text the sender wrote, with quoted
earlier messages, reply headers ("On ... wrote:", Outlook "From: / Sent:" blocks,
"-----Original Message-----") and signatures folded away.

The full body is never thrown away by this module; it only says which lines are new.

    parts = reply_split(text)
    parts.visible          # what an agent should read first
    parts.fragments        # every run of lines, marked hidden or not, in order
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# "wrote" in the languages mail clients localise their reply header into.
_WROTE_WORDS = (
    r"wrote|writes|has written|schrieb|schreibt|a écrit|a ecrit|escreveu|escribió|escribio|ha scritto|scrisse"
    r"|schreef|heeft geschreven|napisał\(a\)|napisała|napisał|napisal|kirjoitti|skrev|skriver|написал\(а\)|написала"
    r"|написал|пишет|írta|yazdı|napsal|napísal|rašė|rakstīja|kirjutas|έγραψε|כתב|كتب|写道|寫道|のメッセージ|님이 작성"
)
_WROTE_RE = re.compile(rf"(?:^|[\s,(\"'])(?:{_WROTE_WORDS})(?!\w)\s*(?:-+|:)?\s*(?:-+)?\s*$", re.IGNORECASE)
_WROTE_ANYWHERE_RE = re.compile(rf"(?:^|[\s,(\"'])(?:{_WROTE_WORDS})(?!\w)", re.IGNORECASE)
_EMAIL_RE = re.compile(r"[\w.+'&=-]+@[\w-]+(?:\.[\w-]+)+|&lt;[^&]+@[^&]+&gt;")
_TIME_RE = re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b(?:19|20)\d{2}\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b")

# Outlook-style header block: a "From:" line followed closely by "Sent:", "To:", "Subject:".
_FROM_KEYS = (
    r"from|de|von|van|da|fra|från|od|от|lähettäjä|feladó|kimden|afzender|remetente|expéditeur|mittente|message du"
)
_OTHER_KEYS = (
    r"sent|date|envoyé(?: le)?|envoye|gesendet|datum|verzonden|inviato|enviado(?: el)?|dato|skickat|wysłano|wyslano"
    r"|отправлено|дата|lähetetty|küldve|gönderildi|to|à|a|an|aan|til|till|do|para|per|кому|vastaanottaja|címzett"
    r"|subject|objet|sujet|betreff|onderwerp|oggetto|emne|ämne|asunto|assunto|temat|тема|aihe|tárgy|konu"
    r"|cc|kopie|copie à|copia"
)
_FROM_LINE_RE = re.compile(rf"^\s*[*_]*(?:{_FROM_KEYS})[*_]*\s*:", re.IGNORECASE)
_OTHER_LINE_RE = re.compile(rf"^\s*[*_]*(?:{_OTHER_KEYS})[*_]*\s*:", re.IGNORECASE)
_HEADERISH_RE = re.compile(r"^\s*[*_]*[^\W\d][\w .'-]{0,24}[*_]*\s*:", re.UNICODE)

# "-----Original Message-----", "-------- Message d'origine --------", "---- On ... wrote ----".
_SEPARATOR_RE = re.compile(r"^\s*-{2,}\s*[^\s-][^\n]*?\s*-{2,}\s*$")
_RULE_RE = re.compile(r"^\s*(?:[=_*]{3,}|_{2,})\s*$")
_UNDERSCORE_RE = re.compile(r"^\s*_{2,}\s*$")
_SIGNATURE_RE = re.compile(r"^\s*--\s*$")
_SENT_FROM_RE = re.compile(
    r"^\s*(?:sent from|sent via|sent with|get outlook for|envoyé (?:de|depuis|à partir de|avec)"
    r"|gesendet (?:von|vom|mit)"
    r"|von meinem|enviado (?:desde|do|de|a partir)|inviato da|verzonden (?:met|vanaf|van)|skickat från|sendt fra"
    r"|lähetetty|wysłane z|отправлено с)\b.{0,80}$",
    re.IGNORECASE,
)
_CLOSING_RE = re.compile(r"^\s*(?:best |kind |warm |warmest |many |with kind )?regards[,.!]?\s*$", re.IGNORECASE)
_FENCE_RE = re.compile(r"^\s*```")
_QUOTED_RE = re.compile(r"^\s*>")


@dataclass(frozen=True)
class Fragment:
    text: str
    hidden: bool
    kind: str  # "reply", "quote", "header", "signature"


@dataclass(frozen=True)
class ReplyParts:
    visible: str
    fragments: list[Fragment] = field(default_factory=list)

    @property
    def first_fragment(self) -> str:
        return self.fragments[0].text if self.fragments else ""


def _wrote_header_span(lines: list[str], i: int) -> int:
    """How many lines (1-3) from i form an "On <date>, <someone> wrote:" header; 0 if none."""
    first = lines[i]
    if not first.strip() or len(first) > 400:
        return 0
    for span in (1, 2, 3):
        if i + span > len(lines):
            break
        chunk = lines[i : i + span]
        if span > 1:
            # A header wrapped over lines starts with a date and never ends a sentence.
            if not chunk[-1].strip() or not _TIME_RE.search(first) or first.rstrip().endswith((".", "!", "?")):
                break
        joined = " ".join(part.strip().lstrip(">").strip() for part in chunk)
        if len(joined) > 500:
            break
        wrote = _WROTE_RE.search(joined) or (joined.endswith(":") and _WROTE_ANYWHERE_RE.search(joined))
        if wrote and (_EMAIL_RE.search(joined) or _TIME_RE.search(joined)):
            return span
        if (
            joined.endswith(":")
            and _EMAIL_RE.search(joined)
            and _TIME_RE.search(joined)
            and not _HEADERISH_RE.match(joined)
        ):
            return span
        if span == 1 and joined.startswith("-") and _SEPARATOR_RE.match(first) and _WROTE_ANYWHERE_RE.search(joined):
            return span
    return 0


def _outlook_block_at(lines: list[str], i: int) -> bool:
    """Does an Outlook-style header block ("From:" then "Sent:"/"To:"/"Subject:") start at i?"""
    if not _FROM_LINE_RE.match(lines[i]):
        return False
    seen = 0
    for line in lines[i + 1 : i + 7]:
        if _OTHER_LINE_RE.match(line):
            seen += 1
            if seen >= 1 and (_EMAIL_RE.search(lines[i]) or seen >= 2 or _EMAIL_RE.search(line)):
                return True
    # A lone "From: x@y" followed by nothing header-like is body text.
    return False


def _extend_back(lines: list[str], start: int, floor: int) -> int:
    """Take in rules and header-like lines ("Message du : ...", "____") right above a cut."""
    j = start
    k = start - 1
    while k >= floor:
        line = lines[k]
        if not line.strip():
            k -= 1
            continue
        if _RULE_RE.match(line) or (_HEADERISH_RE.match(line) and len(line) < 120 and k == j - 1):
            j = k
            k -= 1
            continue
        break
    return j


def reply_split(text: str) -> ReplyParts:
    """Split a plain-text email body into visible and hidden fragments."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    # kind per line: None = visible reply text
    kinds: list[str | None] = [None] * len(lines)
    in_fence = False
    i = 0
    n = len(lines)
    cut_at: int | None = None
    cut_kind = "quote"
    while i < n:
        line = lines[i]
        if _FENCE_RE.match(line):
            in_fence = not in_fence
            i += 1
            continue
        if in_fence:
            i += 1
            continue
        span = _wrote_header_span(lines, i)
        if span:
            nxt = i + span
            while nxt < n and not lines[nxt].strip():
                nxt += 1
            header_is_quoted = line.lstrip().startswith(">")
            if nxt < n and _QUOTED_RE.match(lines[nxt]) and not header_is_quoted:
                # Bottom-posting or inline replies: only the header and the ">" lines hide.
                for k in range(i, i + span):
                    kinds[k] = "header"
                i += span
                continue
            cut_at, cut_kind = i, "header"
            break
        if _outlook_block_at(lines, i) or _SEPARATOR_RE.match(line):
            cut_at, cut_kind = _extend_back(lines, i, 0), "header"
            break
        if _SIGNATURE_RE.match(line) or _UNDERSCORE_RE.match(line) or _is_sent_from(line):
            cut_at, cut_kind = i, "signature"
            break
        if _QUOTED_RE.match(line):
            kinds[i] = "quote"
        elif line.strip() and 0 < i < n - 1 and kinds[i - 1] == "quote" and _QUOTED_RE.match(lines[i + 1]):
            kinds[i] = "quote"  # a quoted line the sender's client wrapped without its ">"
        i += 1
    if cut_at is not None:
        for k in range(cut_at, n):
            kinds[k] = cut_kind

    _hide_closing(lines, kinds)

    fragments: list[Fragment] = []
    current: list[str] = []
    current_kind: str | None = None
    for line, kind in zip(lines, kinds, strict=True):
        if not line.strip() and current:
            current.append(line)  # a blank line belongs to the run it follows
            continue
        if current and kind != current_kind:
            fragments.append(_fragment(current, current_kind))
            current = []
        current_kind = kind
        current.append(line)
    if current:
        fragments.append(_fragment(current, current_kind))

    visible_lines = [line for line, kind in zip(lines, kinds, strict=True) if kind is None]
    visible = re.sub(r"\n{3,}", "\n\n", "\n".join(visible_lines)).strip()
    return ReplyParts(visible=visible, fragments=fragments)


def _is_sent_from(line: str) -> bool:
    """ "Sent from my iPhone", not "Sent from my desk, is much easier than my phone." """
    if not _SENT_FROM_RE.match(line):
        return False
    prose = re.sub(r"<[^>]*>|https?://\S+", "", line).strip()
    return ", " not in prose and not prose.endswith((".", "!", "?"))


def _fragment(lines: list[str], kind: str | None) -> Fragment:
    return Fragment(text="\n".join(lines), hidden=kind is not None, kind=kind or "reply")


def _hide_closing(lines: list[str], kinds: list[str | None]) -> None:
    """Hide a "Regards,\\nName\\nTitle" block at the end of the visible text."""
    visible_idx = [k for k, kind in enumerate(kinds) if kind is None and lines[k].strip()]
    if len(visible_idx) < 2:
        return
    tail = visible_idx[-7:]
    for pos, k in enumerate(tail):
        if _CLOSING_RE.match(lines[k]) and k != visible_idx[0]:
            rest = tail[pos + 1 :]
            if all(len(lines[r]) <= 80 for r in rest) and all(r == k or kinds[r] is None for r in rest):
                last = visible_idx[-1]
                for r in range(k, last + 1):
                    if kinds[r] is None:
                        kinds[r] = "signature"
            return


def reply_text(text: str) -> str:
    """The visible reply; the whole text when nothing is left after folding (a bare forward)."""
    visible = reply_split(text).visible
    return visible or (text or "").strip()
