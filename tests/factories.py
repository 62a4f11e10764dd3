"""factory-boy factories for the models of every app."""

import datetime

import factory
from factory.django import DjangoModelFactory

from accounts.models import Account, AccountKind, AccountState
from core.normalization import name_key
from pupils.models import (
    Academy,
    Establishment,
    EstablishmentKind,
    GuardianRecord,
    Pupil,
    Responsibility,
)

DEFAULT_PASSWORD = "Motdepasse1!"


class AcademyFactory(DjangoModelFactory):
    class Meta:
        model = Academy
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Académie {n}")


class EstablishmentFactory(DjangoModelFactory):
    class Meta:
        model = Establishment

    uai = factory.Sequence(lambda n: f"{750000 + n:07d}A")
    name = factory.Sequence(lambda n: f"Collège Jules-Ferry {n}")
    kind = EstablishmentKind.COLLEGE
    academy = factory.SubFactory(AcademyFactory)


class PupilFactory(DjangoModelFactory):
    class Meta:
        model = Pupil

    ine = factory.Sequence(lambda n: f"{100000000 + n:09d}0A")
    last_name = "Dupont"
    first_names = factory.Sequence(lambda n: f"Léa{n}")
    birth_date = datetime.date(2014, 5, 17)
    level = "6EME"
    establishment = factory.SubFactory(EstablishmentFactory)


class GuardianRecordFactory(DjangoModelFactory):
    class Meta:
        model = GuardianRecord

    establishment = factory.SubFactory(EstablishmentFactory)
    civility = "Mme"
    last_name = "Dupont"
    first_name = "Marie"
    last_name_key = factory.LazyAttribute(lambda o: name_key(o.last_name))
    first_name_key = factory.LazyAttribute(lambda o: name_key(o.first_name))
    mobile_phone = factory.Sequence(lambda n: f"+3361{n:07d}")
    email = ""


class ResponsibilityFactory(DjangoModelFactory):
    class Meta:
        model = Responsibility

    guardian_record = factory.SubFactory(GuardianRecordFactory)
    pupil = factory.SubFactory(
        PupilFactory, establishment=factory.SelfAttribute("..guardian_record.establishment")
    )
    is_legal_representative = True


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = Account
        skip_postgeneration_save = True

    identifier = factory.Sequence(lambda n: f"m.dupont{10 + n}")
    kind = AccountKind.GUARDIAN
    first_name = "Marie"
    last_name = "Dupont"
    state = AccountState.ACTIVE
    password = factory.django.Password(DEFAULT_PASSWORD)
