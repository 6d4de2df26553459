"""The demo's data tables: DNO licence areas and their places, technologies and device models,
the market operators and the words FSPs' names are made of. Real names and places; fictional
identifiers (registry.operations.demo)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

# --- Network geography ---------------------------------------------------------------------


class LicenceArea(NamedTuple):
    """A DNO licence area: its GSP group, millions of customers, and real outward codes in it."""

    name: str
    gsp_group: str
    customers: float
    places: tuple[tuple[str, str], ...]  # (outward code, town)


def _area(name: str, gsp_group: str, customers: float, places: str) -> LicenceArea:
    pairs = tuple(_place(place) for place in places.split(", "))
    return LicenceArea(name, gsp_group, customers, pairs)


def _place(text: str) -> tuple[str, str]:
    code, town = text.split(" ", 1)
    return code, town


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

# --- Organisations ---------------------------------------------------------------------------

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

BUSINESSES = (
    "Cold Storage Ltd", "Logistics Ltd", "Community Energy CIC", "Bakeries Ltd", "Leisure Trust",
    "Dairies Ltd", "Business Park Ltd", "Hotels Ltd", "Farm Partnership", "Academy Trust",
)  # fmt: skip
