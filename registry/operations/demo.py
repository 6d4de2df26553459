"""A synthetic but realistic registry: organisations, flexible assets and rights to operate.

Everything is derived from a seed, so the same seed gives the same registry, and asset ``n`` is
the same whatever the number of assets asked for. Assets are made one at a time by a generator,
so a million of them never sit in memory together: write them to a file with
:func:`registry.operations.demo_files.write_demo`, or register a small demo with
:func:`registry.operations.demo_files.load_demo`. The data tables (licence areas, products,
market operators) are in :mod:`registry.operations.demo_data`, MPAN and LEI check digits in
:mod:`registry.operations.demo_identifiers`.

Company numbers, LEIs, MPANs, serial numbers and FSPs are fictional; the market operators' names
and homepages are real. Every contact email is under the reserved ``.example`` domain, so demo
data never points at a real mailbox.

>>> demo = generate(assets=3, seed=7)
>>> [row["id"] for row in demo.asset_rows]
['asset-000001', 'asset-000002', 'asset-000003']
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import pyoxigraph as ox

from registry.base.vocab import DCAT, FDI, FOAF, RDF, ROV, VCARD, XSD
from registry.operations.demo_data import (
    BUSINESSES,
    EXPORTING,
    FSP_KINDS,
    FSP_NAMES,
    HOME_PRODUCTS,
    IDNO_DISTRIBUTORS,
    IDNO_SHARE,
    INWARD_LETTERS,
    LICENCE_AREAS,
    MARKET_OPERATORS,
    PRODUCTS,
    STREETS,
    TEAMS,
    TECHNOLOGY_LABELS,
    TECHNOLOGY_MIX,
    TOWN_OF_OUTWARD,
)
from registry.operations.demo_identifiers import lei_check_digits, mpan_core
from registry.submissions.csvformat import HEADER
from registry.submissions.formats import SUBMISSION_BASE

# Dates are relative to a fixed day, not today, so a seed always gives the same data.
REFERENCE_DATE = dt.date(2026, 11, 1)

_MPAN_BODIES = 10**10
_EXPORT_OFFSET = _MPAN_BODIES // 2  # export MPANs come from the other half of the permutation


class _Permutation:
    """``i -> (a*i + b) mod m``: distinct outputs for distinct inputs, without a set of used ones.

    ``a`` is coprime with ``m`` (a power of ten), so the map is a bijection on ``range(m)``.
    """

    def __init__(self, rng: random.Random, modulus: int) -> None:
        a = rng.randrange(modulus // 10, modulus) | 1
        self.a = a + 2 if a % 5 == 0 else a
        self.b = rng.randrange(modulus)
        self.m = modulus

    def __call__(self, i: int) -> int:
        return (self.a * i + self.b) % self.m


def _postcode(rng: random.Random, outward: str) -> str:
    return f"{outward} {rng.randrange(10)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"


def local_iri(local: str) -> ox.NamedNode:
    """The IRI a submission gives the record it names ``local``."""
    return ox.NamedNode(SUBMISSION_BASE + local)


def _iso(ordinal: int) -> str:
    return dt.date.fromordinal(ordinal).isoformat()


def _cumulative(weights: Iterable[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


# --- Organisations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Organisation:
    """An organisation record; ``technologies`` and ``weight`` steer which assets an FSP runs."""

    id: str
    legal_name: str
    company_number: str
    roles: tuple[str, ...]
    contact_name: str
    email: str
    homepage: str
    address: str = ""
    lei: str = ""
    technologies: tuple[str, ...] = ()
    weight: float = 0.0

    def triples(self) -> list[ox.Triple]:
        """The record as a submission gives it, under its local IRI."""
        s = local_iri(self.id)
        contact = ox.NamedNode(s.value + "#contactPoint")
        out = [
            ox.Triple(s, RDF.type, FDI.Organisation),
            ox.Triple(s, ROV.legalName, ox.Literal(self.legal_name)),
            ox.Triple(s, FDI.companyNumber, ox.Literal(self.company_number)),
        ]
        if self.lei:
            out.append(ox.Triple(s, FDI.lei, ox.Literal(self.lei)))
        if self.address:
            out.append(ox.Triple(s, FDI.registeredAddress, ox.Literal(self.address)))
        out += [ox.Triple(s, FDI.marketRole, FDI[role]) for role in self.roles]
        out += [
            ox.Triple(s, FOAF.homepage, ox.NamedNode(self.homepage)),
            ox.Triple(s, DCAT.contactPoint, contact),
            ox.Triple(contact, VCARD.fn, ox.Literal(self.contact_name)),
            ox.Triple(contact, VCARD.hasEmail, ox.NamedNode(self.email)),
        ]
        return out


def _organisations(rng: random.Random, fsps: int) -> list[Organisation]:
    if not 1 <= fsps <= len(FSP_NAMES):
        raise ValueError(f"a demo has 1 to {len(FSP_NAMES)} FSPs, not {fsps}")
    used: set[str] = set()
    orgs = [
        Organisation(
            id=f"org-{key}", legal_name=name, company_number=_company_number(rng, used, scottish),
            roles=roles, contact_name="Flexibility Markets Team",
            email=f"mailto:flexibility@{key}.example", homepage=homepage, address=address,
            lei=_lei(rng),
        )
        for key, name, roles, homepage, address, scottish in MARKET_OPERATORS
    ]  # fmt: skip
    for rank, stem in enumerate(rng.sample(FSP_NAMES, fsps)):
        technologies, endings = FSP_KINDS[rank % len(FSP_KINDS)]  # every kind among the first 5
        area = rng.choice(list(LICENCE_AREAS))
        outward, town = rng.choice(LICENCE_AREAS[area].places)
        name = f"{stem} {rng.choice(endings)}"
        slug = name.lower().replace(" ", "")
        street = f"{rng.randint(1, 120)} {rng.choice(STREETS)}"
        orgs.append(
            Organisation(
                id=f"fsp-{rank + 1:02d}",
                legal_name=f"{name} {rng.choice(('Ltd', 'Ltd', 'Limited'))}",
                company_number=_company_number(rng, used, scottish=area in (17, 18)),
                roles=("FlexibilityServiceProvider",),
                contact_name=rng.choice(TEAMS),
                email=f"mailto:flexibility@{slug}.example",
                homepage=f"https://www.{slug}.example/",
                address=f"{street}, {town} {_postcode(rng, outward)}",
                lei=_lei(rng) if rng.random() < 0.4 else "",
                technologies=technologies,
                weight=1 / (rank + 1) ** 0.8,  # a few large aggregators, a long tail of small ones
            )
        )
    return orgs


def _company_number(rng: random.Random, used: set[str], scottish: bool) -> str:
    while True:
        if scottish:
            number = f"SC{rng.randrange(300_000, 800_000)}"
        else:
            number = f"{rng.randrange(2_000_000, 16_000_000):08d}"
        if number not in used:
            used.add(number)
            return number


def _lei(rng: random.Random) -> str:
    # 2138 is the London Stock Exchange's LEI prefix, then "00" and 12 entity characters.
    entity = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(12))
    return f"213800{entity}" + lei_check_digits(f"213800{entity}")


# --- Assets ----------------------------------------------------------------------------------


class _AssetMaker:
    """Makes asset rows in sequence from one random stream."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"assets:{seed}")
        self.mpan_body = _Permutation(self.rng, _MPAN_BODIES)
        self.serial_body = _Permutation(self.rng, 10**9)
        self.areas = list(LICENCE_AREAS)
        self.area_weights = _cumulative(a.customers for a in LICENCE_AREAS.values())
        self.techs = list(TECHNOLOGY_MIX)
        self.tech_weights = _cumulative(TECHNOLOGY_MIX.values())
        self.product_weights = {t: _cumulative(p.weight for p in ps) for t, ps in PRODUCTS.items()}

    def row(self, n: int) -> dict[str, str]:
        """Asset ``n`` (from 1) as a CSV row; empty strings for the columns it leaves out."""
        rng = self.rng
        tech = rng.choices(self.techs, cum_weights=self.tech_weights)[0]
        product = rng.choices(PRODUCTS[tech], cum_weights=self.product_weights[tech])[0]
        area = rng.choices(self.areas, cum_weights=self.area_weights)[0]
        distributor = rng.choice(IDNO_DISTRIBUTORS) if rng.random() < IDNO_SHARE else area
        outward, town = rng.choice(LICENCE_AREAS[area].places)
        row = dict.fromkeys(HEADER, "")
        row.update(
            id=f"asset-{n:06d}",
            name=f"{TECHNOLOGY_LABELS[tech]}, {town}",
            technology=tech,
            gsp_group=LICENCE_AREAS[area].gsp_group,
            import_kw=rng.choice(product.import_kw) if product.import_kw else "",
            export_kw=rng.choice(product.export_kw) if product.export_kw else "",
            energy_kwh=product.energy_kwh,
            manufacturer=product.manufacturer,
            model=product.model,
            serial_number=f"{product.serial_prefix}{self.serial_body(n):09d}",
        )
        self._lifecycle(row, n, distributor, outward, tech in EXPORTING)
        return row

    def _lifecycle(
        self, row: dict[str, str], n: int, distributor: int, outward: str, exports: bool
    ) -> None:
        rng, today = self.rng, REFERENCE_DATE.toordinal()
        draw = rng.random()
        if draw < 0.10:
            row["status"] = "Planned"
            row["planned_commissioning_date"] = _iso(today + rng.randint(30, 730))
            if rng.random() < 0.5:  # the site is often known before the meter is
                row["postcode"] = _postcode(rng, outward)
            return
        row["postcode"] = _postcode(rng, outward)
        row["mpan"] = mpan_core(distributor, self.mpan_body(n))
        if exports and rng.random() < 0.4:
            row["export_mpan"] = mpan_core(distributor, self.mpan_body(n + _EXPORT_OFFSET))
        if draw < 0.95:
            row["status"] = "Commissioned"
            # Installations grow year on year: most are recent, none older than ten years.
            row["commissioning_date"] = _iso(today - min(int(rng.expovariate(1 / 900)), 3650))
        else:
            row["status"] = "Decommissioned"
            start = today - rng.randint(1000, 4000)
            row["commissioning_date"] = _iso(start)
            row["decommissioning_date"] = _iso(rng.randint(start + 365, today - 1))


# --- Rights to operate ---------------------------------------------------------------------


# Terms made once: a million rights would otherwise make millions of NamedNodes.
_TYPE, _RIGHT_TO_OPERATE, _DATE = RDF.type, FDI.RightToOperate, XSD.date
_ASSET, _OPERATOR, _ASSET_OWNER = FDI.asset, FDI.operator, FDI.assetOwner
_VALID_FROM, _VALID_TO, _CONSENT_EVIDENCE = FDI.validFrom, FDI.validTo, FDI.consentEvidence


@dataclass(frozen=True)
class RightToOperate:
    """An owner's grant to an FSP to operate one asset; asset and operator are local IDs."""

    id: str
    asset: str
    operator: str
    valid_from: str
    asset_owner: str
    consent_evidence: str  # an IRI (urn:uuid:...) or a reference string
    valid_to: str = ""

    def triples(self) -> list[ox.Triple]:
        """The record as a submission gives it, under local IRIs."""
        s = local_iri(self.id)
        evidence: ox.NamedNode | ox.Literal = ox.Literal(self.consent_evidence)
        if self.consent_evidence.startswith("urn:"):
            evidence = ox.NamedNode(self.consent_evidence)
        out = [
            ox.Triple(s, _TYPE, _RIGHT_TO_OPERATE),
            ox.Triple(s, _ASSET, local_iri(self.asset)),
            ox.Triple(s, _OPERATOR, local_iri(self.operator)),
            ox.Triple(s, _VALID_FROM, ox.Literal(self.valid_from, datatype=_DATE)),
            ox.Triple(s, _ASSET_OWNER, ox.Literal(self.asset_owner)),
            ox.Triple(s, _CONSENT_EVIDENCE, evidence),
        ]
        if self.valid_to:
            out.append(ox.Triple(s, _VALID_TO, ox.Literal(self.valid_to, datatype=_DATE)))
        return out


class _RightMaker:
    """Gives each commissioned asset row, in sequence, its right to operate."""

    def __init__(self, seed: int, fsps: list[Organisation]) -> None:
        self.rng = random.Random(f"rights:{seed}")
        self.operators: dict[str, tuple[list[str], list[float]]] = {}
        for tech in TECHNOLOGY_MIX:
            able = [o for o in fsps if tech in o.technologies] or fsps
            self.operators[tech] = ([o.id for o in able], _cumulative(o.weight for o in able))

    def __call__(self, row: Mapping[str, str]) -> RightToOperate | None:
        if row["status"] != "Commissioned":
            return None
        rng = self.rng
        ids, weights = self.operators[row["technology"]]
        commissioned = dt.date.fromisoformat(row["commissioning_date"]).toordinal()
        valid_from = min(commissioned + rng.randint(0, 120), REFERENCE_DATE.toordinal())
        valid_to = ""
        if rng.random() < 0.2:  # a fixed-term contract rather than an open-ended one
            valid_to = _iso(valid_from + 365 * rng.randint(1, 3) - 1)
        if (row["manufacturer"], row["model"]) in HOME_PRODUCTS:
            owner = f"Household at {row['postcode']}"
        else:
            owner = f"{TOWN_OF_OUTWARD[row['postcode'].split()[0]]} {rng.choice(BUSINESSES)}"
        if rng.random() < 0.5:
            evidence = f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
        else:
            year, ref = _iso(valid_from)[:4], rng.randrange(10**6)
            evidence = f"Signed consent form ref CF-{year}-{ref:06d}"
        return RightToOperate(
            id="right-" + row["id"].removeprefix("asset-"),
            asset=row["id"],
            operator=rng.choices(ids, cum_weights=weights)[0],
            valid_from=_iso(valid_from),
            valid_to=valid_to,
            asset_owner=owner,
            consent_evidence=evidence,
        )


# --- The demo --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Demo:
    """A generated registry. Assets and rights are streamed, afresh on each access."""

    assets: int
    seed: int
    organisations: list[Organisation]

    @property
    def fsps(self) -> list[Organisation]:
        return [o for o in self.organisations if "FlexibilityServiceProvider" in o.roles]

    @property
    def asset_rows(self) -> Iterator[dict[str, str]]:
        """A new generator of the asset rows, dicts keyed by ``csvformat.HEADER``."""
        maker = _AssetMaker(self.seed)
        return (maker.row(n) for n in range(1, self.assets + 1))

    def rights(self, rows: Iterable[Mapping[str, str]] | None = None) -> Iterator[RightToOperate]:
        """The rights to operate of ``rows`` (default: the asset rows), one per commissioned one.

        Rights depend on the rows before them, so pass every row from the first, in order.
        """
        return (right for _, right in self.assets_with_rights(rows) if right is not None)

    def assets_with_rights(
        self, rows: Iterable[Mapping[str, str]] | None = None
    ) -> Iterator[tuple[Mapping[str, str], RightToOperate | None]]:
        """Each asset row with its right to operate (None unless the asset is commissioned)."""
        maker = _RightMaker(self.seed, self.fsps)
        for row in self.asset_rows if rows is None else rows:
            yield row, maker(row)


def generate(assets: int = 5000, seed: int = 1, fsps: int = 36) -> Demo:
    """A demo registry of ``assets`` assets and ``fsps`` FSPs, plus the market operators.

    Raises ValueError for fewer than 1 or more than 40 FSPs.
    """
    return Demo(assets, seed, _organisations(random.Random(f"organisations:{seed}"), fsps))
