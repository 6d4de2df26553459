"""A standards body's proposal, as the tests and docs/standards.md make it: a new asset
technology (flywheel storage) and a new property batteries must give (their chemistry).

Documents replace the latest version's documents of the same name, so each is the packaged
document with the change made to it.
"""

from __future__ import annotations

from registry.rules import rules

TECHNOLOGY = """
tech:FlywheelStorage a fdi:Technology, skos:Concept ;
    skos:inScheme <https://w3id.org/fdi/technology/> ;
    skos:prefLabel "Flywheel storage"@en ;
    rdfs:label "Flywheel storage"@en ;
    skos:definition "A rotating mass that stores energy as motion."@en ;
    fdi:isStorage true .
"""

PROPERTY = """
fdi:batteryChemistry a owl:DatatypeProperty ;
    rdfs:label "battery chemistry"@en ;
    rdfs:comment "The chemistry of a battery's cells, such as LFP or NMC."@en ;
    rdfs:domain fdi:FlexibleAsset ;
    rdfs:range xsd:string .
"""

SHAPE = """
fdish:Asset-batteryChemistry-required
    a sh:NodeShape ;
    sh:targetClass fdi:FlexibleAsset ;
    sh:name "battery chemistry required"@en ;
    sh:description "A battery gives the chemistry of its cells."@en ;
    sh:message "Give the battery's chemistry (fdi:batteryChemistry), for example LFP or NMC."@en ;
    sh:severity sh:Violation ;
    sh:or (
        [ sh:not [ sh:path fdi:technology ; sh:hasValue tech:BatteryStorage ] ]
        [ sh:path fdi:batteryChemistry ; sh:minCount 1 ]
    ) .
"""


def documents(base: rules.RulesVersion | None = None) -> dict[str, str]:
    """The three changed documents, made from ``base`` (default: the packaged version)."""
    base = base or rules.packaged()
    asset = base.text("shapes/asset").replace(
        "tech:DemandResponse tech:ThermalStorage )",
        "tech:DemandResponse tech:ThermalStorage tech:FlywheelStorage )",
    )
    assert "tech:FlywheelStorage" in asset
    return {
        "ontology/technologies": base.text("ontology/technologies") + TECHNOLOGY,
        "ontology/fdi": base.text("ontology/fdi") + PROPERTY,
        "shapes/asset": asset + SHAPE,
    }


def proposal(version: str = "0.2.0", base: rules.RulesVersion | None = None) -> dict:  # type: ignore[type-arg]
    return {
        "title": "Flywheels, and the chemistry of batteries",
        "description": "Flywheel storage is a technology; batteries give their chemistry.",
        "version": version,
        "documents": documents(base),
    }
