"""Live chat services: visitor messages go through ingest onto one ticket, the bot answers first
(keyword flows, then the knowledge base) and hands over, agents take chats within their limit,
answers reach the visitor through the chat adapter, after hours a chat becomes a ticket with an
email follow-up, ending asks for a rating that counts as CSAT, and video calls are recorded."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from channels_inbox.bots.models import Flow
from channels_inbox.chat import services
from channels_inbox.chat.models import ChatAgentStatus, ChatSession, ChatState
from channels_inbox.chat.selectors import chat_staffed, console_state
from metrics.models import Survey
from tests.factories import make_agent
from tickets.inbound import InboundAttachment
from tickets.models import Event, Identity, Message, Ticket, TicketStatus

# Transactions really commit: replies and follow-ups are delivered on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _surveys_and_bot(settings):
    settings.METRICS_SURVEY_SAMPLE_PERCENT = 100
    settings.CHAT_BOT_ENABLED = False


def visitor(name="", email="", language="en"):
    v = services.visitor_create(language=language)
    if name or email:
        services.visitor_profile_set(visitor=v, name=name, email=email)
    return v


def test_the_token_remembers_the_visitor_and_a_forged_one_does_not():
    v = visitor()
    token = services.visitor_token(v)
    assert services.visitor_from_token(token) == v
    assert services.visitor_from_token(v.key) is None
    assert services.visitor_from_token(token[:-2] + "xx") is None


def test_visitor_messages_land_on_one_ticket_as_inbound_chat_messages(agent_online):
    v = visitor(name="Ana Souza")
    session, first = services.chat_visitor_message(visitor=v, text="My parcel never arrived", page_url="https://shop/p")
    _session, second = services.chat_visitor_message(visitor=v, text="Order 1234")
    assert first.ticket_id == second.ticket_id
    ticket = Ticket.objects.get(pk=first.ticket_id)
    assert ticket.channel == "chat" and ticket.subject == "My parcel never arrived"
    assert list(ticket.messages.values_list("direction", "channel", "body_text")) == [
        ("inbound", "chat", "My parcel never arrived"),
        ("inbound", "chat", "Order 1234"),
    ]
    identity = Identity.objects.get(kind="chat", value=v.key)
    assert ticket.requester_id == identity.customer_id
    assert session.state == ChatState.WAITING and ChatSession.objects.get().ticket_id == ticket.pk


def test_a_returning_visitor_is_the_same_customer(agent_online):
    v = visitor()
    _s, first = services.chat_visitor_message(visitor=v, text="Hello")
    again = services.visitor_from_token(services.visitor_token(v))
    _s, second = services.chat_visitor_message(visitor=again, text="Me again")
    assert first.author_customer_id == second.author_customer_id


def test_empty_too_long_and_too_fast_messages_are_refused(settings, agent_online):
    settings.CHAT_VISITOR_MESSAGES_PER_MINUTE = 2
    settings.CHAT_MAX_MESSAGE_CHARS = 10
    v = visitor()
    with pytest.raises(services.ChatRefused):
        services.chat_visitor_message(visitor=v, text="   ")
    with pytest.raises(services.ChatRefused, match="too long"):
        services.chat_visitor_message(visitor=v, text="x" * 11)
    services.chat_visitor_message(visitor=v, text="one")
    services.chat_visitor_message(visitor=v, text="two")
    with pytest.raises(services.ChatRefused, match="too fast"):
        services.chat_visitor_message(visitor=v, text="three")
    assert Message.objects.count() == 2


def test_html_from_a_visitor_is_kept_as_text_only(agent_online):
    v = visitor()
    _s, message = services.chat_visitor_message(visitor=v, text="<img src=x onerror=alert(1)>hi")
    assert message.body_html == ""
    assert message.body_text == "<img src=x onerror=alert(1)>hi"


def test_a_shared_file_is_stored_and_a_too_large_one_refused(settings, agent_online):
    settings.CHAT_MAX_ATTACHMENT_BYTES = 1000
    v = visitor()
    photo = InboundAttachment(filename="photo.png", content_type="image/png", content=b"\x89PNG" + b"0" * 100)
    _s, message = services.chat_visitor_message(visitor=v, text="", files=[photo])
    assert [a.filename for a in message.attachments.all()] == ["photo.png"]
    big = InboundAttachment(filename="big.bin", content_type="application/octet-stream", content=b"0" * 1001)
    with pytest.raises(services.ChatRefused, match="big.bin"):
        services.chat_visitor_message(visitor=v, text="", files=[big])


def test_nobody_online_makes_the_chat_an_offline_ticket_with_an_email_follow_up(smtp_mailbox):
    v = visitor(name="Ana", email="ana@example.com")
    assert not chat_staffed()
    session, message = services.chat_visitor_message(visitor=v, text="Are you open on Sunday?")
    assert session.state == ChatState.OFFLINE
    ticket = message.ticket
    followup = ticket.messages.get(direction="outbound")
    assert followup.channel == "email" and followup.metadata["kind"] == "chat_followup"
    assert f"#{ticket.number}" in followup.body_text
    [sent] = smtp_mailbox.wait_for(1)
    assert sent.rcpt_tos == ["ana@example.com"]
    assert f"#{ticket.number}" in sent.message.get_body(("plain",)).get_content()
    # Once per chat.
    services.chat_visitor_message(visitor=v, text="Hello?")
    assert ticket.messages.filter(direction="outbound").count() == 1


def test_outside_business_hours_the_chat_is_offline_even_with_an_agent_online(settings, agent_online, smtp_mailbox):
    from tickets.models_sla import BusinessCalendar

    calendar = BusinessCalendar.objects.create(name="Office", time_zone="UTC")  # no hours at all: always closed
    settings.CHAT_BUSINESS_CALENDAR = calendar.name
    assert not chat_staffed()
    v = visitor()
    session, _m = services.chat_visitor_message(visitor=v, text="Hi")
    assert session.state == ChatState.OFFLINE
    # The visitor leaves an address afterwards: the follow-up goes then.
    services.chat_offline_contact(visitor=v, name="Rui", email="rui@example.com")
    assert [m.rcpt_tos for m in smtp_mailbox.wait_for(1)] == [["rui@example.com"]]


def test_a_stale_console_does_not_count_as_online(agent_online):
    ChatAgentStatus.objects.update(last_seen_at=timezone.now() - dt.timedelta(minutes=5))
    assert not chat_staffed()


def test_the_agent_takes_answers_and_the_answer_reaches_the_visitor_as_a_reply(agent_online):
    v = visitor()
    v.connections = 1
    v.save()
    session, message = services.chat_visitor_message(visitor=v, text="Hi")
    services.chat_take(user=agent_online, session=session)
    ticket = Ticket.objects.get(pk=message.ticket_id)
    assert ticket.assignee == agent_online
    answer = services.chat_agent_message(user=agent_online, session=session, text="Hello, how can I help?")
    answer.refresh_from_db()
    assert answer.channel == "chat" and answer.direction == "outbound" and answer.author_user == agent_online
    assert answer.delivery_status == "sent" and answer.external_id == f"chat-out-{answer.pk}"
    assert Event.objects.filter(verb="reply_queued", ticket=ticket).exists()


def test_an_answer_after_the_visitor_left_goes_by_email(agent_online, smtp_mailbox):
    v = visitor(email="gone@example.com")
    session, _m = services.chat_visitor_message(visitor=v, text="Hi")
    services.chat_take(user=agent_online, session=session)
    answer = services.chat_agent_message(user=agent_online, session=session, text="Sorry for the wait")
    answer.refresh_from_db()
    assert answer.delivery_status == "sent"
    [sent] = smtp_mailbox.wait_for(1)
    assert sent.rcpt_tos == ["gone@example.com"]
    assert "Sorry for the wait" in sent.message.get_body(("plain",)).get_content()


def test_only_the_agent_in_the_chat_answers_it(agent_online):
    other = make_agent("joao")
    session, _m = services.chat_visitor_message(visitor=visitor(), text="Hi")
    services.chat_take(user=agent_online, session=session)
    with pytest.raises(services.ChatRefused, match="already taken"):
        services.chat_take(user=other, session=session)
    with pytest.raises(PermissionDenied):
        services.chat_agent_message(user=other, session=session, text="Me too")


def test_the_per_agent_chat_limit_is_honoured(settings, agent_online):
    settings.CHAT_MAX_CHATS_PER_AGENT = 2
    sessions = [services.chat_visitor_message(visitor=visitor(), text=f"Chat {i}")[0] for i in range(3)]
    services.chat_take(user=agent_online, session=sessions[0])
    services.chat_take(user=agent_online, session=sessions[1])
    with pytest.raises(services.ChatRefused, match="limit"):
        services.chat_take(user=agent_online, session=sessions[2])
    ChatAgentStatus.objects.filter(user=agent_online).update(max_chats=3)
    services.chat_take(user=agent_online, session=sessions[2])
    state = console_state(user=agent_online)
    assert [s["id"] for s in state["mine"]] == [s.pk for s in sessions] and state["limit"] == 3


def test_ending_solves_the_ticket_and_the_rating_is_the_csat_answer(agent_online):
    v = visitor()
    session, message = services.chat_visitor_message(visitor=v, text="Hi")
    services.chat_take(user=agent_online, session=session)
    services.chat_agent_message(user=agent_online, session=session, text="Done!")
    services.chat_end(session=session, by="agent", user=agent_online)
    ticket = Ticket.objects.get(pk=message.ticket_id)
    assert ticket.status == TicketStatus.SOLVED
    assert Event.objects.filter(ticket=ticket, verb="chat_ended").exists()
    services.chat_rate(visitor=v, score=5)
    survey = Survey.objects.get(ticket=ticket)
    assert survey.kind == "csat" and survey.score == 5 and survey.channel == "chat"


def test_the_bot_answers_from_keyword_flows_on_chat(settings, agent_online):
    settings.CHAT_BOT_ENABLED = True
    Flow.objects.create(name="Hours", keywords="HOURS", reply_text="We are open 9-18.", channels=["chat"])
    v = visitor()
    session, message = services.chat_visitor_message(visitor=v, text="hours please")
    assert session.state == ChatState.BOT
    replies = list(message.ticket.messages.filter(direction="outbound").values_list("body_text", flat=True))
    assert replies == ["We are open 9-18."]


def test_the_bot_suggests_knowledge_base_articles_and_hands_over_when_asked(settings, agent_online):
    from kb.models import Category
    from kb.services import article_create, article_publish
    from tickets.services.events import Actor

    settings.CHAT_BOT_ENABLED = True
    writer = make_agent("kb-writer", role="admin")
    category = Category.objects.create(name="Account", slug="account")
    article = article_create(
        slug="reset-password",
        category=category,
        title="Reset your password",
        body_markdown="Click forgot password on the sign-in page to reset your password.",
        actor=Actor.agent(writer),
    )
    article_publish(article=article, actor=Actor.agent(writer))
    v = visitor()
    session, message = services.chat_visitor_message(visitor=v, text="How do I reset my password?")
    bot = message.ticket.messages.get(direction="outbound")
    assert bot.metadata["kind"] == "bot_reply" and "Reset your password" in bot.body_text
    assert "/help/a/reset-password/" in bot.body_text
    session.refresh_from_db()
    assert session.state == ChatState.BOT
    services.chat_visitor_message(visitor=v, text="agent")
    session.refresh_from_db()
    assert session.state == ChatState.WAITING
    assert Event.objects.filter(verb="chat_handover", ticket=message.ticket).exists()


def test_the_bot_hands_over_at_once_when_it_knows_nothing(settings, agent_online):
    settings.CHAT_BOT_ENABLED = True
    session, message = services.chat_visitor_message(visitor=visitor(), text="Something odd happened")
    session.refresh_from_db()
    assert session.state == ChatState.WAITING
    bot = message.ticket.messages.get(direction="outbound", metadata__kind="bot_reply")
    assert bot.delivery_status == "sent" and bot.external_id == f"chat-out-{bot.pk}"


def test_a_video_call_posts_the_link_and_records_it(settings, agent_online):
    settings.VIDEO_MEETING_URL_TEMPLATE = "https://video.example.com/room-{token}"
    session, message = services.chat_visitor_message(visitor=visitor(), text="Can we talk?")
    services.chat_take(user=agent_online, session=session)
    ticket = Ticket.objects.get(pk=message.ticket_id)
    url, posted = services.video_call_start(ticket=ticket, user=agent_online)
    assert url.startswith("https://video.example.com/room-") and len(url) > len("https://video.example.com/room-") + 8
    assert url in posted.body_text and posted.channel == "chat"
    event = Event.objects.get(ticket=ticket, verb="video_call_started")
    assert event.data["url"] == url
