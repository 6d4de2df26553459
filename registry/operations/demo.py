"""A synthetic but realistic registry: organisations, flexible assets and rights to operate.

Everything is derived from a seed, so the same seed gives the same registry, and asset ``n`` is
the same whatever the number of assets asked for. Assets are made one at a time by a generator,
so a million of them never sit in memory together: write them to a file with :func:`write_demo`,
or register a small demo with :func:`load_demo`.

Company numbers, LEIs, MPANs, serial numbers and FSPs are fictional; the market operators' names
and homepages are real. Every contact email is under the reserved ``.example`` domain, so demo
data never points at a real mailbox.

>>> demo = generate(assets=3, seed=7)
>>> [row["id"] for row in demo.asset_rows]
['asset-000001', 'asset-000002', 'asset-000003']
>>> mpan_check_digit("214396771280")
9
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import pyoxigraph as ox

from registry.base.errors import UnsupportedFormat
from registry.base.vocab import DCAT, FDI, FOAF, PREFIXES, RDF, RECORD_TYPES, ROV, VCARD, XSD
from registry.submissions.csvformat import HEADER, asset_triples
from registry.submissions.formats import SUBMISSION_BASE, Parsed
from registry.submissions.records import local_id

if TYPE_CHECKING:
    from registry.kernel.core import Registry

# Dates are relative to a fixed day, not today, so a seed always gives the same data.
REFERENCE_DATE = dt.date(2026, 11, 1)
CHUNK = 2000  # assets serialised per write

# --- Network geography ---------------------------------------------------------------------


class LicenceArea(NamedTuple):
    """A DNO licence area: its GSP group, millions of customers, and real outward codes in it."""

    name: str
    gsp_group: str
    customers: float
    places: tuple[tuple[str, str], ...]  # (outward code, town)


def _area(name: str, gsp_group: str, customers: float, places: str) -> LicenceArea:
    pairs = tuple(tuple(place.split(" ", 1)) for place in places.split(", "))
    return LicenceArea(name, gsp_group, customers, pairs)  # type: ignore[arg-type]


# Distributor ID -> licence area, as in DOMAIN.md; places are "outward-code town", comma-separated.
# fmt: off
LICENCE_AREAS: dict[int, LicenceArea] = {
    10: _area("Eastern", "_A", 3.7, "CB1 Cambridge, NR1 Norwich, IP1 Ipswich, CO1 Colchester, "
              "CM1 Chelmsford, LU1 Luton, MK40 Bedford, PE1 Peterborough, SG1 Stevenage"),
    11: _area("East Midlands", "_B", 2.7, "NG1 Nottingham, NG7 Nottingham, LE1 Leicester, "
              "DE1 Derby, DE22 Derby, NN1 Northampton, LN1 Lincoln, S40 Chesterfield"),
    12: _area("London", "_C", 2.4, "SW1A London, E14 London, N1 London, SE1 London, W1D London, "
              "EC1A London, NW1 London, E1 London, SW11 London, W2 London"),
    13: _area("Merseyside and North Wales", "_D", 1.5, "L1 Liverpool, L8 Liverpool, "
              "L18 Liverpool, CH1 Chester, CH41 Birkenhead, LL11 Wrexham, LL57 Bangor"),
    14: _area("West Midlands", "_E", 2.5, "B1 Birmingham, B15 Birmingham, CV1 Coventry, "
              "WV1 Wolverhampton, WS1 Walsall, DY1 Dudley, ST1 Stoke-on-Trent, WR1 Worcester"),
    15: _area("North Eastern", "_F", 1.6, "NE1 Newcastle upon Tyne, NE6 Newcastle upon Tyne, "
              "SR1 Sunderland, DH1 Durham, TS1 Middlesbrough, DL1 Darlington"),
    16: _area("North Western", "_G", 2.4, "M1 Manchester, M14 Manchester, BL1 Bolton, "
              "PR1 Preston, LA1 Lancaster, CA1 Carlisle, WN1 Wigan, OL1 Oldham, BB1 Blackburn"),
    17: _area("North Scotland", "_P", 0.8, "AB10 Aberdeen, AB24 Aberdeen, IV1 Inverness, "
              "PH1 Perth, DD1 Dundee, KW1 Wick, PA34 Oban, HS1 Stornoway"),
    18: _area("South Scotland", "_N", 2.0, "G1 Glasgow, G12 Glasgow, EH1 Edinburgh, "
              "EH6 Edinburgh, KA1 Kilmarnock, ML1 Motherwell, DG1 Dumfries, FK1 Falkirk"),
    19: _area("South Eastern", "_J", 2.3, "BN1 Brighton, TN1 Tunbridge Wells, ME14 Maidstone, "
              "CT1 Canterbury, RH10 Crawley, GU1 Guildford, BN21 Eastbourne"),
    20: _area("Southern", "_H", 3.0, "SO14 Southampton, PO1 Portsmouth, RG1 Reading, "
              "OX1 Oxford, SL1 Slough, BH1 Bournemouth, SN1 Swindon"),
    21: _area("South Wales", "_K", 1.1, "CF10 Cardiff, CF24 Cardiff, SA1 Swansea, NP20 Newport, "
              "SA31 Carmarthen"),
    22: _area("South Western", "_L", 1.6, "BS1 Bristol, EX1 Exeter, PL1 Plymouth, TR1 Truro, "
              "TA1 Taunton, BA1 Bath, TQ1 Torquay"),
    23: _area("Yorkshire", "_M", 2.3, "LS1 Leeds, S1 Sheffield, BD1 Bradford, HU1 Hull, "
              "YO1 York, HG1 Harrogate, DN1 Doncaster, WF1 Wakefield, HD1 Huddersfield"),
}
# fmt: on
IDNO_DISTRIBUTORS = (24, 25, 26, 27)
IDNO_SHARE = 0.03  # assets on independent networks inside a DNO's area
TOWN_OF_OUTWARD = {code: town for area in LICENCE_AREAS.values() for code, town in area.places}
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # an inward code never uses C, I, K, M, O or V

# --- Technologies and products -------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """A device model: its ratings as CSV text (kW choices, kWh) and whether homes own it."""

    manufacturer: str
    model: str
    serial_prefix: str
    import_kw: tuple[str, ...] = ()
    export_kw: tuple[str, ...] = ()
    energy_kwh: str = ""
    home: bool = True
    weight: float = 1.0


P = Product
# Percent of assets by technology: domestic EV charging, heat and batteries dominate.
TECHNOLOGY_MIX = {
    "EVCharger": 32, "HeatPump": 24, "BatteryStorage": 18, "SolarPV": 8, "VehicleToGrid": 5,
    "ThermalStorage": 4, "DemandResponse": 4, "Generator": 3, "WindTurbine": 2,
}  # fmt: skip
TECHNOLOGY_LABELS = {
    "EVCharger": "EV charger", "HeatPump": "Heat pump", "BatteryStorage": "Battery",
    "SolarPV": "Solar PV", "VehicleToGrid": "V2G charger", "ThermalStorage": "Heat battery",
    "DemandResponse": "Flexible load", "Generator": "Generator", "WindTurbine": "Wind turbine",
}  # fmt: skip
# Heat pumps are rated by electrical input; DR "models" are the site's control system.
# fmt: off
PRODUCTS: dict[str, tuple[Product, ...]] = {
    "EVCharger": (
        P("myenergi", "zappi 2.1 7kW", "ZP", ("7.4",), weight=20),
        P("Ohme", "Home Pro", "OH", ("7.4",), weight=18),
        P("Pod Point", "Solo 3", "PP", ("7", "3.6"), weight=15),
        P("Wallbox", "Pulsar Plus", "WB", ("7.4",), weight=10),
        P("Hypervolt", "Home 3 Pro", "HV", ("7.4",), weight=8),
        P("Andersen", "A3", "AN", ("7.4",), weight=5),
        P("EO Charging", "EO Mini Pro 3", "EO", ("7.2",), weight=6),
        P("Easee", "One", "ES", ("7.4",), weight=5),
        P("Alfen", "Eve Double Pro-line", "AF", ("22",), home=False, weight=6),
        P("ABB", "Terra 54", "AB", ("50",), home=False, weight=2),
    ),
    "HeatPump": (
        P("Mitsubishi Electric", "Ecodan PUZ-WM85VAA", "ME", ("2.9",), weight=18),
        P("Daikin", "Altherma 3 H HT 14 kW", "DK", ("4.7",), weight=12),
        P("Vaillant", "aroTHERM plus 7 kW", "VA", ("2.4",), weight=15),
        P("Samsung", "EHS Mono HT Quiet 8 kW", "SA", ("2.8",), weight=10),
        P("Octopus Energy", "Cosy 6", "OC", ("2.2",), weight=12),
        P("Grant", "Aerona3 R32 10 kW", "GR", ("3.3",), weight=7),
        P("NIBE", "S2125-12", "NB", ("3.9",), weight=5),
        P("Viessmann", "Vitocal 150-A", "VI", ("3",), weight=6),
        P("Mitsubishi Electric", "CAHV-R450YA-HPB", "MC", ("16", "32"), home=False, weight=2),
    ),
    "BatteryStorage": (
        P("Tesla", "Powerwall 2", "TG", ("5",), ("5",), "13.5", weight=14),
        P("Tesla", "Powerwall 3", "TP", ("11.5",), ("11.5",), "13.5", weight=8),
        P("GivEnergy", "All in One", "GA", ("6",), ("6",), "13.5", weight=12),
        P("GivEnergy", "Giv-Bat 9.5", "GB", ("3.6",), ("3.6",), "9.5", weight=12),
        P("sonnen", "sonnenBatterie 10 performance", "SB", ("4.6",), ("4.6",), "11", weight=5),
        P("Fox ESS", "EP11", "FX", ("5",), ("5",), "10.36", weight=8),
        P("Puredrive", "PureStorage II", "PD", ("5",), ("5",), "10", weight=4),
        P("Powerstar", "VIRTUE 250", "PS", ("250",), ("250",), "500", home=False, weight=1.5),
        P("Tesla", "Megapack 2 XL", "MP", ("1927",), ("1927",), "3854", home=False, weight=0.5),
    ),
    "SolarPV": (
        P("SolarEdge", "SE3680H", "SE", (), ("3.68",), weight=10),
        P("Fronius", "Primo GEN24 5.0 Plus", "FR", (), ("5",), weight=6),
        P("Huawei", "SUN2000-5KTL-L1", "HW", (), ("5",), weight=8),
        P("SMA", "Sunny Boy 4.0", "SM", (), ("4",), weight=6),
        P("GivEnergy", "Gen 3 Hybrid 5.0", "GH", (), ("5",), weight=6),
        P("Huawei", "SUN2000-50KTL-M3", "HC", (), ("50",), home=False, weight=2),
        P("SMA", "Sunny Tripower CORE2 110", "ST", (), ("110",), home=False, weight=1),
    ),
    "VehicleToGrid": (
        P("Wallbox", "Quasar 2", "WQ", ("11.5",), ("11.5",), "77", weight=4),
        P("Indra", "V2X", "IN", ("7",), ("7",), "62", weight=5),
        P("Nichicon", "EVPS-003", "NC", ("6",), ("6",), "40", weight=2),
    ),
    "ThermalStorage": (
        P("Sunamp", "Thermino 210 ePV", "SU", ("2.8",), (), "10.5", weight=6),
        P("Sunamp", "Thermino 300 ePV", "SV", ("2.8",), (), "14", weight=3),
        P("tepeo", "ZEB", "TE", ("6",), (), "40", weight=2),
        P("Dimplex", "Quantum QM150", "DQ", ("2.2",), (), "15.4", weight=5),
    ),
    "DemandResponse": (
        P("Schneider Electric", "EcoStruxure Building Operation", "SX",
          ("150", "250", "400", "750", "1200"), home=False, weight=4),
        P("Siemens", "Desigo CC", "DC", ("200", "500", "1000", "2500"), home=False, weight=3),
        P("Johnson Controls", "Metasys", "JC", ("100", "300", "600"), home=False, weight=2),
    ),
    "Generator": (
        P("Cummins", "C500 D5", "CU", (), ("400",), home=False, weight=3),
        P("Caterpillar", "C32 standby", "CA", (), ("1000",), home=False, weight=2),
        P("2G Energy", "agenitor 408", "2G", (), ("400",), home=False, weight=2),
        P("FG Wilson", "P110-3", "FG", (), ("88",), home=False, weight=2),
    ),
    "WindTurbine": (
        P("Gaia-Wind", "133-11kW", "GW", (), ("11",), home=False, weight=3),
        P("Endurance", "E-3120", "EN", (), ("50",), home=False, weight=3),
        P("Northern Power Systems", "NPS 100C-24", "NP", (), ("95",), home=False, weight=2),
        P("Enercon", "E-44", "EC", (), ("900",), home=False, weight=1),
    ),
}
# fmt: on
HOME_PRODUCTS = {(p.manufacturer, p.model) for ps in PRODUCTS.values() for p in ps if p.home}
EXPORTING = {"BatteryStorage", "SolarPV", "VehicleToGrid", "Generator", "WindTurbine"}

# --- Identifiers ---------------------------------------------------------------------------

MPAN_WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
_MPAN_BODIES = 10**10
_EXPORT_OFFSET = _MPAN_BODIES // 2  # export MPANs come from the other half of the permutation


def mpan_check_digit(first12: str) -> int:
    """The MPAN core check digit for its first 12 digits.

    >>> mpan_check_digit("101234567890")
    3
    """
    return sum(int(d) * w for d, w in zip(first12, MPAN_WEIGHTS, strict=True)) % 11 % 10


def mpan_core(distributor: int, body: int) -> str:
    """The 13-digit MPAN core for a distributor ID and a 10-digit body."""
    first12 = f"{distributor:02d}{body:010d}"
    return first12 + str(mpan_check_digit(first12))


def lei_check_digits(first18: str) -> str:
    """The two ISO 7064 MOD 97-10 check digits that complete an LEI (computed as for an IBAN)."""
    number = int("".join(str(int(c, 36)) for c in first18.upper() + "00"))
    return f"{98 - number % 97:02d}"


def is_valid_lei(lei: str) -> bool:
    """Whether a 20-character LEI's check digits hold.

    >>> is_valid_lei("5493001KJTIIGC8Y1R12")
    True
    """
    if len(lei) != 20 or not (lei.isascii() and lei.isalnum()):
        return False
    return int("".join(str(int(c, 36)) for c in lei.upper())) % 97 == 1


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


TSO, MO, DSO = "TransmissionSystemOperator", "MarketOperator", "DistributionSystemOperator"
# The buyers of flexibility: (key, legal name, roles, homepage, registered office, in Scotland).
# fmt: off
MARKET_OPERATORS = (
    ("neso", "National Energy System Operator Limited", (TSO, MO), "https://www.neso.energy/",
     "Faraday House, Gallows Hill, Warwick CV34 6DA", False),
    ("ukpn", "UK Power Networks (Operations) Limited", (DSO,), "https://www.ukpowernetworks.co.uk/",
     "Newington House, 237 Southwark Bridge Road, London SE1 6NP", False),
    ("nged", "National Grid Electricity Distribution plc", (DSO,), "https://www.nationalgrid.co.uk/",
     "Avonbank, Feeder Road, Bristol BS2 0TB", False),
    ("spen", "SP Energy Networks Limited", (DSO,), "https://www.spenergynetworks.co.uk/",
     "320 St Vincent Street, Glasgow G2 5AD", True),
    ("ssen", "Scottish and Southern Electricity Networks Limited", (DSO,), "https://www.ssen.co.uk/",
     "Inveralmond House, 200 Dunkeld Road, Perth PH1 3AQ", True),
    ("npg", "Northern Powergrid Limited", (DSO,), "https://www.northernpowergrid.com/",
     "Lloyds Court, 78 Grey Street, Newcastle upon Tyne NE1 6AF", False),
    ("enwl", "Electricity North West Limited", (DSO,), "https://www.enwl.co.uk/",
     "Borron Street, Portwood, Stockport SK1 2JD", False),
    ("flexchange", "Flexchange Markets Ltd", (MO,), "https://www.flexchange.example/",
     "21 Leonard Street, London EC2A 4DY", False),
    ("openflex", "Openflex Platform Ltd", (MO,), "https://www.openflex.example/",
     "4 Queen Street, Edinburgh EH2 1JE", True),
)
# FSP business models: the technologies each runs, and the words its name ends with.
FSP_KINDS = (
    (("EVCharger", "VehicleToGrid", "BatteryStorage"), ("Smart Charging", "EV", "Charging")),
    (("BatteryStorage", "SolarPV", "HeatPump", "EVCharger", "ThermalStorage"),
     ("Energy", "Home Energy", "Renewables")),
    (("HeatPump", "ThermalStorage"), ("Heat", "Heating", "Heat Networks")),
    (("DemandResponse", "Generator", "BatteryStorage", "SolarPV", "WindTurbine"),
     ("Flex", "Energy Services", "Grid Services", "Power")),
    (("BatteryStorage", "VehicleToGrid"), ("Storage", "Battery Services")),
)
FSP_NAMES = (
    "Albion", "Brightwire", "Kestrel", "Hearthside", "Pennine", "Solent", "Cairngorm", "Severn",
    "Wessex", "Mercia", "Lumen", "Voltaic", "Greenbank", "Harbourside", "Fenland", "Moorland",
    "Clydeside", "Tayside", "Chiltern", "Cotswold", "Humber", "Trent", "Ridgeway", "Northumbria",
    "Lowland", "Dales", "Weald", "Medway", "Avonvale", "Caledon", "Eden", "Orwell", "Wye",
    "Beacon", "Saltire", "Tamar", "Ouse", "Cheviot", "Mendip", "Malvern",
)
# fmt: on
STREETS = ("High Street", "Station Road", "Victoria Street", "King Street", "Mill Lane")
TEAMS = ("Flexibility Operations", "Asset Registration Team", "Grid Services Desk")


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


BUSINESSES = (
    "Cold Storage Ltd", "Logistics Ltd", "Community Energy CIC", "Bakeries Ltd", "Leisure Trust",
    "Dairies Ltd", "Business Park Ltd", "Hotels Ltd", "Farm Partnership", "Academy Trust",
)  # fmt: skip


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


# --- Writing and loading ---------------------------------------------------------------------

T = TypeVar("T")
_RDF_FORMATS = {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES}
# Local IDs are written as ":asset-000001" (pyoxigraph's base_iri would also shorten http IRIs).
_USED = (
    "rdf",
    "rdfs",
    "xsd",
    "fdi",
    "tech",
    "qudt",
    "unit",
    "saref",
    "rov",
    "foaf",
    "dcat",
    "vcard",
)
TURTLE_PREFIXES = {"": SUBMISSION_BASE} | {name: PREFIXES[name] for name in _USED}


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _subject_first(triples: list[ox.Triple]) -> list[ox.Triple]:
    """A record's own triples before its child nodes', so Turtle groups each subject once."""
    subject = triples[0].subject
    return [t for t in triples if t.subject == subject] + [
        t for t in triples if t.subject != subject
    ]


def write_demo(out: Path, assets: int = 5000, seed: int = 1) -> dict[str, int]:
    """Write a demo to ``out``: every record as ``.ttl`` or ``.nt``, or the assets as ``.csv``.

    Records keep their local IRIs (under ``formats.SUBMISSION_BASE``), so the file reads back as
    one submission. Returns the number of records written by kind (the registry's kind names).
    Raises UnsupportedFormat for any other suffix.
    """
    demo = generate(assets, seed)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=HEADER)
            writer.writeheader()
            writer.writerows(demo.asset_rows)
        return {"asset": assets}
    if suffix not in _RDF_FORMATS:
        raise UnsupportedFormat(f"{out.name}: the demo is written as .ttl, .nt or .csv")
    rdf_format = _RDF_FORMATS[suffix]
    turtle = suffix == ".ttl"
    options = {"prefixes": TURTLE_PREFIXES} if turtle else {}
    counts = {"org": len(demo.organisations), "asset": 0, "right-to-operate": 0}
    with out.open("wb") as f:
        orgs = [t for o in demo.organisations for t in o.triples()]
        f.write(ox.serialize(orgs, format=rdf_format, **options))
        # Each chunk is a complete document (Turtle repeats its prefixes): bounded memory.
        for chunk in _chunks(demo.assets_with_rights(), CHUNK):
            triples: list[ox.Triple] = []
            for row, right in chunk:
                asset = asset_triples(local_iri(row["id"]), row)
                triples += _subject_first(asset) if turtle else asset
                if right is not None:
                    triples += right.triples()
                    counts["right-to-operate"] += 1
            counts["asset"] += len(chunk)
            f.write(ox.serialize(triples, format=rdf_format, **options))
    return counts


def load_demo(
    registry: Registry, assets: int = 5000, seed: int = 1, batch: int = 500
) -> dict[str, int]:
    """Load a demo into ``registry`` as actor ``demo``; returns the records added by kind.

    Organisations go first, then assets and rights to operate in batches of ``batch``; rights
    name their asset and operator by the IRIs the registry minted for them.
    """
    demo = generate(assets, seed)
    minted: dict[str, str] = {}
    counts = dict.fromkeys(RECORD_TYPES.values(), 0)

    def register(triples: list[ox.Triple], kind: str) -> None:
        # The generator's output is checked against the shapes by tests/test_demo.py; loading
        # it unchecked keeps `fdi serve --demo` starting in seconds.
        registration = registry.import_records(Parsed("demo", "turtle", triples), actor="demo")
        minted.update(registration.ids)
        counts[kind] += len(registration.ids)

    register([t for o in demo.organisations for t in o.triples()], "org")
    for rows in _chunks(demo.asset_rows, batch):
        register([t for row in rows for t in asset_triples(local_iri(row["id"]), row)], "asset")
    for rights in _chunks(demo.rights(), batch):
        triples = [t for right in rights for t in right.triples()]
        register(resolve_references(triples, minted), "right-to-operate")
    return {kind: n for kind, n in counts.items() if n}


def resolve_references(triples: list[ox.Triple], minted: Mapping[str, str]) -> list[ox.Triple]:
    """Point ``fdi:asset`` and ``fdi:operator`` at minted IRIs instead of local ones."""
    out = []
    for t in triples:
        if t.predicate in (FDI.asset, FDI.operator) and isinstance(t.object, ox.NamedNode):
            iri = minted.get(local_id(t.object))
            if iri is not None:
                t = ox.Triple(t.subject, t.predicate, ox.NamedNode(iri))
        out.append(t)
    return out
