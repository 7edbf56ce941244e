"""factory_boy factories for the ticket core."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from tickets.models import Customer, Identity, IdentityKind, Organization, Team, Ticket
from tickets.numbers import ticket_number_next
from tickets.services.agents import agent_create
from tickets.services.events import Actor


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    customer = factory.SubFactory(CustomerFactory)
    kind = IdentityKind.EMAIL
    value = factory.Sequence(lambda n: f"person{n}@example.com")


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    number = factory.LazyFunction(ticket_number_next)
    subject = factory.Sequence(lambda n: f"Problem number {n}")
    channel = "email"
    requester = factory.SubFactory(CustomerFactory)


def make_agent(username: str, *, role: str = "agent", teams=(), password: str = "pw-for-tests-1") -> object:
    """A real agent, created the way the product creates them (role group and all)."""
    return agent_create(
        username=username,
        email=f"{username}@agents.example.com",
        role=role,
        password=password,
        teams=teams,
        actor=Actor.system(),
    )


def make_customer_user(customer: Customer, username: str = "portal-user") -> object:
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-1")
    customer.user = user
    customer.save(update_fields=["user"])
    return user
