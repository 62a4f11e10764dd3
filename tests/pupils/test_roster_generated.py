"""A roster of about a thousand families nobody wrote by hand, as the reviewers will try.

The generator knows what each row means (which family, which guardian, which child), so the
expected counts, numbers and links are computed from the families, not from the importer.
"""

import io
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.normalization import name_key
from pupils.models import GuardianRecord, Pupil, Responsibility
from pupils.roster import HEADER

pytestmark = pytest.mark.django_db

LAST_NAMES = ["Martin", "Bernard", "Dubois", "Lefèvre", "N'Diaye", "de La Fontaine",
              "Le Goff", "Müller", "Nguyễn", "O’Connor", "Saint-Éloi", "Payet", "Hoarau",
              "Château-Renaud", "Œuvrard", "Læticia-Dupont", "D'Almeida", "Van der Berg",
              "García López", "Aït-Ali", "Jean-Baptiste", "Bensaïd", "Kowalska", "Grondin"]
FIRST_NAMES = ["Hélène", "Jean-Éric", "Maëlle", "Noël", "Zoé", "Chloé", "François", "Anaïs",
               "Loïc", "Léa", "Inès", "Côme", "Gaël", "Thomas", "Marie-Josée", "Jérôme",
               "Ysé", "Bérénice", "Aurélien", "Agnieszka", "Seán", "João", "Thị Lan", "Ève"]
# (UAI prefix, region's mobile prefixes in national form, international code, academy)
# Number blocks libphonenumber accepts as mobiles, followed by five digits.
REGIONS = [
    ("075", ["6121", "7812"], "33", "Paris"),
    ("069", ["6122", "7813"], "33", "Lyon"),
    ("013", ["6123", "7814"], "33", "Aix-Marseille"),
    ("974", ["6921", "6922"], "262", "La Réunion"),
    ("971", ["6901", "6902"], "590", "Guadeloupe"),
    ("972", ["6962", "6963"], "596", "Martinique"),
    ("973", ["6942"], "594", "Guyane"),
    ("976", ["6392"], "262", "Mayotte"),
]
KINDS = ["ecole", "college", "lycee", "lp"]
KIND_LABELS = {"ecole": "École", "college": "Collège", "lycee": "Lycée",
               "lp": "Lycée professionnel"}


@dataclass
class School:
    uai: str
    name: str
    kind: str
    academy: str
    region: tuple


@dataclass
class Guardian:
    civility: str
    last_name: str
    first_name: str
    e164: str
    written_phone: dict  # uai -> how the school writes the number
    email: str
    legal: bool


@dataclass
class Child:
    ine: str
    last_name: str
    first_names: str
    birth: str
    level: str
    school: School


@dataclass
class Family:
    guardians: list[Guardian]
    children: list[Child]
    rows: list[tuple] = field(default_factory=list)


def _mobile(rng: random.Random, region: tuple, serial: int) -> tuple[str, str]:
    """A mobile of the region, unique by serial: (national form, E.164)."""
    national = rng.choice(region[1]) + f"{serial:05d}"
    return "0" + national, f"+{region[2]}{national}"


def _written(rng: random.Random, national: str, code: str, same_region: bool) -> str:
    """How a school types the number: spaces, dots, dashes, +33, 0033."""
    digits = national[1:]
    if not same_region or rng.random() < 0.15:
        prefix = rng.choice([f"+{code} ", f"00{code}"])
        return prefix + " ".join([digits[:3], digits[3:5], digits[5:7], digits[7:]])
    pairs = [national[i:i + 2] for i in range(0, 10, 2)]
    return rng.choice([" ", ".", "-", ""]).join(pairs)


def generate(rng: random.Random, families: int = 1000):
    schools = []
    for index in range(30):
        region = REGIONS[index % len(REGIONS)]
        kind = KINDS[index % len(KINDS)]
        schools.append(School(
            uai=f"{region[0]}{index:04d}{'ABCDEFGHJKLMNPRSTUVWXYZ'[index % 23]}",
            name=f"{KIND_LABELS[kind]} {rng.choice(LAST_NAMES)}-{index}",
            kind=kind, academy=region[3], region=region,
        ))
    serial = 0
    result = []
    for family_index in range(families):
        last_name = rng.choice(LAST_NAMES)
        home = rng.choice(schools).region
        guardians = []
        for g in range(rng.choice([1, 1, 2, 2, 2, 3])):
            serial += 1
            national, e164 = _mobile(rng, home, serial)
            has_phone = rng.random() < 0.9
            has_email = rng.random() < 0.6 or not has_phone
            guardians.append(Guardian(
                civility=rng.choice(["Mme", "M.", ""]),
                last_name=rng.choice([last_name, last_name.upper(), rng.choice(LAST_NAMES)]),
                first_name=rng.choice(FIRST_NAMES),
                e164=e164 if has_phone else "",
                written_phone={"national": national, "code": home[2]} if has_phone else {},
                email=f"famille{family_index}.{g}@example.org" if has_email else "",
                legal=g < 2,
            ))
        children = []
        for c in range(rng.choice([1, 1, 2, 2, 3])):
            # Siblings often share a school, sometimes not (two children in two schools).
            school = rng.choice([s for s in schools if s.region == home] or schools)
            year = rng.randint(2006, 2019)
            children.append(Child(
                ine=f"{300000000 + family_index * 10 + c:09d}{rng.choice('0123456789AB')}"
                    f"{rng.choice('ABCDEFGHJK')}",
                last_name=last_name.upper(), first_names=rng.choice(FIRST_NAMES),
                birth=f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}",
                level=rng.choice(["CP", "CE2", "6EME", "4EME", "2NDE", "TLE"]), school=school,
            ))
        result.append(Family(guardians, children))
    return schools, result


def row_values(guardian: Guardian, child: Child, rng: random.Random) -> list[str]:
    school = child.school
    phone = ""
    if guardian.written_phone:
        same_region = school.region[2] == guardian.written_phone["code"]
        phone = _written(rng, guardian.written_phone["national"],
                         guardian.written_phone["code"], same_region)
    return [school.uai, school.name, school.kind, school.academy, child.ine, child.last_name,
            child.first_names, child.birth, child.level, guardian.civility, guardian.last_name,
            guardian.first_name, phone, guardian.email, "oui" if guardian.legal else "non"]


# One defect per broken row: (column, value). (An unusable phone number no longer rejects a
# row — the row is imported without it: tests/pupils/test_roster_real_world.py.)
DEFECTS = [
    ("uai", "97400012"),
    ("ine", "12345678AB"),
    ("eleve_date_naissance", "31/02/2015"),
    ("eleve_date_naissance", "01-02-2015"),
    ("eleve_date_naissance", "23/10/15"),
    ("responsable_nom", ""),
    ("eleve_prenoms", ""),
    ("type_etablissement", "universite"),
    ("representant_legal", "peut-être"),
    ("responsable_email", "sans-arobase.example.org"),
]
COLUMNS = HEADER.split(";")


def build_roster(tmp_path: Path, seed: int):
    rng = random.Random(seed)
    _, families = generate(rng)
    pairs = [(family, guardian, child) for family in families for guardian in family.guardians
             for child in family.children]
    rng.shuffle(pairs)  # rows of a family are scattered: matching must not rely on order
    lines = [HEADER]
    valid = []
    broken = {}  # line number -> column
    for family, guardian, child in pairs:
        if rng.random() < 0.03:
            column, bad = rng.choice(DEFECTS)
            values = row_values(guardian, child, rng)
            values[COLUMNS.index(column)] = bad
            # A broken row of a new pupil: it must leave no trace.
            values[COLUMNS.index("ine")] = (
                bad if column == "ine" else f"9{len(lines):08d}0Z"
            )
            lines.append(";".join(values))
            broken[len(lines)] = column
        lines.append(";".join(row_values(guardian, child, rng)))
        valid.append((family, guardian, child))
    path = tmp_path / f"roster-{seed}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, valid, broken


def expected(valid):
    def record_key(family, guardian, child):
        # A guardian is one record per school; without phone or email nothing proves two
        # rows are the same person, so each child gets a record of its own.
        who = (id(family), id(guardian))
        if not guardian.e164 and not guardian.email:
            who += (child.ine,)
        return (child.school.uai, *who)

    return {
        "establishments": len({c.school.uai for _, _, c in valid}),
        "pupils": len({c.ine for _, _, c in valid}),
        "guardians": len({record_key(*item) for item in valid}),
        "links": len(valid),
        "numbers": {(c.school.uai, name_key(g.last_name), name_key(g.first_name), g.e164)
                    for _, g, c in valid},
        "links_set": {(c.ine, c.school.uai, name_key(g.last_name), name_key(g.first_name),
                       g.e164, g.legal) for _, g, c in valid},
    }


def run(path):
    out = io.StringIO()
    try:
        call_command("import_roster", str(path), "--no-progress", stdout=out,
                     stderr=io.StringIO())
    except CommandError:
        pass
    return out.getvalue()


def table(output):
    result = {}
    for label, kind in (("Établissements", "establishments"), ("Élèves", "pupils"),
                        ("Responsables", "guardians"), ("Liens responsable–élève", "links")):
        line = next(line for line in output.splitlines() if line.startswith(label))
        result[kind] = [int(n) for n in line[len(label):].split()]
    return result


@pytest.mark.parametrize("seed", [2024, 7])
def test_a_thousand_generated_families_give_the_right_counts_numbers_and_lines(tmp_path, seed):
    path, valid, broken = build_roster(tmp_path, seed)
    want = expected(valid)

    output = run(path)

    counts = table(output)
    assert [counts[kind][0] for kind in ("establishments", "pupils", "guardians", "links")] == [
        want["establishments"], want["pupils"], want["guardians"], want["links"]]
    reported = {}
    for line in output.splitlines():
        if line.startswith("ligne "):
            number, _, rest = line.removeprefix("ligne ").partition(", colonne ")
            reported.setdefault(int(number), set()).add(rest.split(":")[0])
    assert reported == {line: {column} for line, column in broken.items()}
    assert f"{len(broken)} rejetées" in output
    assert len(broken) > 30

    numbers = set(GuardianRecord.objects.values_list(
        "establishment__uai", "last_name_key", "first_name_key", "mobile_phone"))
    assert {(u, lk, fk, str(p) if p else "") for u, lk, fk, p in numbers} == want["numbers"]
    links = {
        (link.pupil.ine, link.guardian_record.establishment.uai,
         link.guardian_record.last_name_key, link.guardian_record.first_name_key,
         link.guardian_record.mobile_phone.as_e164 if link.guardian_record.mobile_phone
         else "", link.is_legal_representative)
        for link in Responsibility.objects.select_related(
            "pupil", "guardian_record__establishment")
    }
    assert links == want["links_set"]
    assert not Pupil.objects.filter(ine__startswith="9", ine__endswith="0Z").exists()

    history = (Pupil.history.count(), GuardianRecord.history.count(),
               Responsibility.history.count())
    again = table(run(path))

    assert all(again[kind][:2] == [0, 0] for kind in again)
    assert [again[kind][2] for kind in ("establishments", "pupils", "guardians", "links")] == [
        want["establishments"], want["pupils"], want["guardians"], want["links"]]
    assert (Pupil.history.count(), GuardianRecord.history.count(),
            Responsibility.history.count()) == history
