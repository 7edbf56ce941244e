"""Quality reviews: a reviewer scores an agent's replies on a ticket against a scorecard."""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tickets.models import AuthorKind, Message, MessageDirection, Ticket
from tickets.services.events import Actor, event_record

from .models import QA_SCALE, QaReview, QaReviewScore, Scorecard

# The default scorecard: the seven Cs of customer service (name, what good looks like, weight).
SEVEN_CS = [
    ("Clear communication", "Plain words, a direct answer, no jargon.", 2),
    ("Consistency", "The same answer any agent would give, in line with policy and the knowledge base.", 1),
    ("Courtesy", "Friendly, respectful, acknowledges the customer's situation.", 1),
    ("Capability", "Knew the product and solved the problem without needless hand-offs.", 2),
    ("Correctness", "Accurate facts, right steps, nothing missed.", 3),
    ("Convenience", "Least effort for the customer: no repeated questions, clear next step.", 1),
    ("Commitment", "Took ownership and followed up as promised.", 1),
]


def scorecard_default_ensure() -> Scorecard:
    """The default scorecard, created with the seven Cs when there is none (a migration
    creates it; this brings it back on a database emptied since). Idempotent."""
    card = Scorecard.objects.filter(is_default=True).first()
    if card is not None:
        return card
    with transaction.atomic():
        card, created = Scorecard.objects.get_or_create(
            name="Seven Cs",
            defaults={"description": "Default scorecard: the seven Cs of customer service.", "is_default": True},
        )
        if created:
            for position, (name, description, weight) in enumerate(SEVEN_CS):
                card.criteria.create(name=name, description=description, weight=weight, position=position)
    return card


def can_review(user: AbstractBaseUser) -> bool:
    """Managers and admins (who see every ticket) review; agents do not review themselves."""
    return user.is_active and (user.is_superuser or user.has_perm("tickets.view_all_tickets"))


def qa_weighted_score(weights_scores: list[tuple[int, int]]) -> float:
    """sum(weight x (score - 1) / 4) / sum(weight) x 100, i.e. 0 (all 1s) to 100 (all 5s)."""
    low, high = QA_SCALE
    total = sum(w for w, _s in weights_scores)
    if not total:
        raise ValueError("no weighted criteria")
    return 100 * sum(w * (s - low) / (high - low) for w, s in weights_scores) / total


def qa_reviewable_agents(ticket: Ticket) -> list[int]:
    """Ids of agents who wrote public replies on the ticket."""
    return list(
        Message.objects.filter(
            ticket=ticket, direction=MessageDirection.OUTBOUND, author_kind=AuthorKind.AGENT, is_internal=False
        )
        .exclude(author_user__isnull=True)
        .values_list("author_user_id", flat=True)
        .distinct()
    )


def qa_review_save(
    *,
    ticket: Ticket,
    agent: AbstractBaseUser,
    scorecard: Scorecard,
    scores: Mapping[int, int],
    comment: str = "",
    actor: Actor,
) -> QaReview:
    """Create or replace `actor`'s review of `agent` on `ticket`. Every criterion of the
    scorecard needs a score from 1 to 5; the agent must have replied on the ticket."""
    reviewer = actor.user
    if reviewer is None or not can_review(reviewer):
        raise PermissionDenied(_("Only managers review quality."))
    if agent.pk == reviewer.pk:
        raise ValidationError(_("Reviewers do not review their own replies."))
    if agent.pk not in qa_reviewable_agents(ticket):
        raise ValidationError(_("This agent has not replied on the ticket."))
    criteria = list(scorecard.criteria.all())
    low, high = QA_SCALE
    missing = [c.name for c in criteria if c.pk not in scores]
    if missing:
        raise ValidationError(_("Score every criterion: %(names)s.") % {"names": ", ".join(missing)})
    bad = [c.name for c in criteria if not low <= int(scores[c.pk]) <= high]
    if bad:
        raise ValidationError(_("Scores go from 1 to 5: %(names)s.") % {"names": ", ".join(bad)})
    score = qa_weighted_score([(c.weight, int(scores[c.pk])) for c in criteria])
    with transaction.atomic():
        review, created = QaReview.objects.update_or_create(
            ticket=ticket,
            agent=agent,
            reviewer=reviewer,
            defaults={"scorecard": scorecard, "score": score, "comment": (comment or "").strip()[:5000]},
        )
        review.scores.all().delete()
        QaReviewScore.objects.bulk_create(
            [QaReviewScore(review=review, criterion=c, score=int(scores[c.pk])) for c in criteria]
        )
        event_record(
            obj=review,
            ticket=ticket,
            verb="qa_reviewed" if created else "qa_review_changed",
            actor=actor,
            data={"agent": agent.pk, "score": round(score, 1)},
        )
    return review
