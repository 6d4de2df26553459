"""Vocabulary terms as constants: the one place IRIs are spelled out.

Every ``FDI`` term used here is defined, labelled and commented in ``ontology/``;
``tests/test_vocab.py`` checks that.

>>> FDI.FlexibleAsset.value
'https://w3id.org/fdi/ns#FlexibleAsset'
"""

from __future__ import annotations

from pyoxigraph import NamedNode


class Namespace:
    """A vocabulary namespace: attribute access gives ``NamedNode`` terms.

    Each term is made once and then kept on the namespace (the write path names terms per
    triple, and making a new ``NamedNode`` each time was a measurable share of bulk loads).
    """

    def __init__(self, iri: str) -> None:
        self.iri = iri
        self._terms: dict[str, NamedNode] = {}

    def __getattr__(self, name: str) -> NamedNode:
        if name.startswith("_"):
            raise AttributeError(name)
        term = self[name]
        setattr(self, name, term)  # later look-ups find it without calling __getattr__
        return term

    def __getitem__(self, name: str) -> NamedNode:
        term = self._terms.get(name)
        if term is None:
            term = self._terms[name] = NamedNode(self.iri + name)
        return term

    def __str__(self) -> str:
        return self.iri


FDI = Namespace("https://w3id.org/fdi/ns#")
TECH = Namespace("https://w3id.org/fdi/technology/")
FDISH = Namespace("https://w3id.org/fdi/shapes#")

RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
SH = Namespace("http://www.w3.org/ns/shacl#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
ORG = Namespace("http://www.w3.org/ns/org#")
ROV = Namespace("http://www.w3.org/ns/regorg#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
ODRL = Namespace("http://www.w3.org/ns/odrl/2/")
PROV = Namespace("http://www.w3.org/ns/prov#")
DQV = Namespace("http://www.w3.org/ns/dqv#")
QUDT = Namespace("http://qudt.org/schema/qudt/")
UNIT = Namespace("http://qudt.org/vocab/unit/")
SAREF = Namespace("https://saref.etsi.org/core/")
S4ENER = Namespace("https://saref.etsi.org/saref4ener/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
ADMS = Namespace("http://www.w3.org/ns/adms#")
LDP = Namespace("http://www.w3.org/ns/ldp#")
AS = Namespace("https://www.w3.org/ns/activitystreams#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")  # W3C format IRIs (not a prefix)
LDES = Namespace("https://w3id.org/ldes#")
TREE = Namespace("https://w3id.org/tree#")
XML = Namespace("http://www.w3.org/XML/1998/namespace")  # the xml: prefix (not in PREFIXES)

PREFIXES: dict[str, str] = {
    "fdi": FDI.iri,
    "tech": TECH.iri,
    "fdish": FDISH.iri,
    "rdf": RDF.iri,
    "rdfs": RDFS.iri,
    "xsd": XSD.iri,
    "owl": OWL.iri,
    "sh": SH.iri,
    "skos": SKOS.iri,
    "org": ORG.iri,
    "rov": ROV.iri,
    "dcat": DCAT.iri,
    "dct": DCT.iri,
    "odrl": ODRL.iri,
    "prov": PROV.iri,
    "qudt": QUDT.iri,
    "unit": UNIT.iri,
    "saref": SAREF.iri,
    "s4ener": S4ENER.iri,
    "vcard": VCARD.iri,
    "foaf": FOAF.iri,
    "adms": ADMS.iri,
    "ldp": LDP.iri,
    "as": AS.iri,
    "hydra": HYDRA.iri,
    "sd": SD.iri,
}

# The record types a submission may contain, with the path segment their IDs are minted under.
RECORD_TYPES: dict[NamedNode, str] = {
    FDI.FlexibleAsset: "asset",
    FDI.RightToOperate: "right-to-operate",
    FDI.Organisation: "org",
    FDI.SchemeLicence: "licence",
    FDI.DataSharingAgreement: "agreement",
    FDI.CommercialInformation: "commercial",
    FDI.MemberCatalogue: "catalogue",
}

# Records the registry makes itself (a membership and its acceptance, a person of an
# organisation, a certificate): they have shapes, which ``fdi validate`` checks offline, but a
# submission holding one is refused (its nodes are "not part of any record").
REGISTRY_MADE_TYPES: dict[NamedNode, str] = {
    FDI.SchemeMembership: "membership",
    FDI.OrganisationUser: "user",
    FDI.Certificate: "certificate",
}

# What only the registry states in a record (docs/facts.md, fact 13: what confers trust changes only
# through the party entitled to change it): an organisation's status, verified identity and
# market roles, whose data an agreement shares (its assigner) and whose offer commercial
# information is (its provider), a catalogue's publisher, a right's operator, and when the
# registry made and last changed a record. An update (PUT) must send these back as served.
KEPT_BY_REGISTRY: tuple[NamedNode, ...] = (
    FDI.organisationStatus,
    FDI.statusReason,
    FDI.assuranceLevel,
    FDI.marketRole,
    FDI.companyNumber,
    FDI.lei,
    ROV.legalName,
    ODRL.assigner,
    FDI.provider,
    DCT.publisher,
    DCT.created,
    DCT.modified,
    FDI.operator,
)

# Asset lifecycle states (a SKOS scheme in the ontology).
PLANNED = FDI.Planned
COMMISSIONED = FDI.Commissioned
DECOMMISSIONED = FDI.Decommissioned
LIFECYCLE = (PLANNED, COMMISSIONED, DECOMMISSIONED)

# Technologies (a SKOS scheme in ontology/technologies.ttl). Storage needs an energy capacity.
TECHNOLOGIES = (
    "BatteryStorage",
    "EVCharger",
    "VehicleToGrid",
    "HeatPump",
    "Generator",
    "SolarPV",
    "WindTurbine",
    "DemandResponse",
    "ThermalStorage",
)
STORAGE_TECHNOLOGIES = ("BatteryStorage", "VehicleToGrid", "ThermalStorage")

# Power and energy units accepted for capacities.
POWER_UNITS = {"kW": UNIT.KiloW, "MW": UNIT.MegaW}
ENERGY_UNITS = {"kWh": UNIT["KiloW-HR"], "MWh": UNIT["MegaW-HR"]}


def sparql_prefixes(*names: str) -> str:
    """SPARQL ``PREFIX`` lines for the named prefixes of :data:`PREFIXES`, to start a query.

    >>> print(sparql_prefixes("fdi", "dct"), end="")
    PREFIX fdi: <https://w3id.org/fdi/ns#>
    PREFIX dct: <http://purl.org/dc/terms/>
    """
    return "".join(f"PREFIX {name}: <{PREFIXES[name]}>\n" for name in names)


def curie(iri: str) -> str:
    """``fdi:FlexibleAsset`` for a known namespace, else the IRI.

    >>> curie("https://w3id.org/fdi/ns#FlexibleAsset"), curie("urn:x")
    ('fdi:FlexibleAsset', 'urn:x')
    """
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri
