"""Revalidating the registry against changed shapes names the records the change would break."""

from __future__ import annotations

import shutil
from pathlib import Path

from registry.core import Registry
from registry.demo import generate, load_demo
from registry.resources import shapes_dir, ttl_files
from registry.revalidation import revalidate
from registry.settings import Settings
from registry.validation import load_shapes

STRICTER = """
@prefix fdi: <https://w3id.org/fdi/ns#> . @prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/shapes#> .
ex:PostcodeAlways a sh:NodeShape ; sh:targetClass fdi:FlexibleAsset ;
    sh:name "postcode always" ; sh:description "A stricter rule: every asset has a postcode." ;
    sh:property [ sh:path fdi:postcode ; sh:minCount 1 ; sh:name "postcode" ;
                  sh:description "The site's postcode." ; sh:message "Give the postcode." ] .
"""


def stricter_shapes(tmp_path: Path):
    directory = tmp_path / "shapes"
    directory.mkdir()
    for path in ttl_files(shapes_dir()):
        shutil.copy(path, directory / path.name)
    (directory / "stricter.ttl").write_text(STRICTER)
    return load_shapes(directory)


def test_the_registry_conforms_to_its_own_shapes(tmp_path: Path) -> None:
    registry = Registry(Settings(data_dir=tmp_path / "data"))
    load_demo(registry, assets=60)
    assert [f for f in revalidate(registry) if f.severity == "Violation"] == []


def test_a_stricter_shape_names_every_record_it_breaks_in_one_or_two_processes(
    tmp_path: Path,
) -> None:
    registry = Registry(Settings(data_dir=tmp_path / "data"))
    load_demo(registry, assets=150)
    without_postcode = sum(1 for row in generate(150).asset_rows if not row["postcode"])
    assert without_postcode > 0
    shapes = stricter_shapes(tmp_path)

    alone = revalidate(registry, shapes)
    shared = revalidate(registry, shapes, workers=2)

    assert len(alone) == without_postcode
    assert sorted(f.focus for f in shared) == sorted(f.focus for f in alone)
    assert {f.rule for f in alone} == {"postcode"}
