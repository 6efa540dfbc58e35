"""The code location loads, every asset is described, and the graph has the intended shape."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

import resources
import schedules
import sensors
from discogs_assets.definitions import defs
from discogs_assets.lib.tables import ENTITIES

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return defs()


def test_definitions_validate(definitions: dg.Definitions) -> None:
    dg.Definitions.validate_loadable(definitions)


@pytest.mark.parametrize("package", [resources, schedules, sensors])
def test_top_level_packages_are_this_repos(package: object) -> None:
    # PyPI has packages called `resources` and `schedules`: make sure ours are the ones imported.
    assert Path(package.__file__).resolve().is_relative_to(REPO), package.__file__


def test_every_asset_has_group_kinds_owners_description(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    missing = []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not (node.group_name and node.kinds and node.owners and node.description):
            missing.append(key.to_user_string())
    assert not missing, f"assets without group/kinds/owners/description: {missing}"


def test_asset_graph_shape(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()

    def parents(name: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys}

    assert parents("discogs_checksum") == set()
    previous = None
    for entity in ENTITIES:
        assert parents(f"raw_{entity}") == {"discogs_checksum"}
        assert parents(f"parsed_{entity}") == {f"raw_{entity}"}
        expected = {f"parsed_{entity}", f"sql/{entity[:-1]}"}
        if previous:
            expected.add(f"warehouse_{previous}")
        assert parents(f"warehouse_{entity}") == expected
        previous = entity
    assert {"warehouse_releases", "warehouse_artists", "warehouse_masters"} <= parents(
        "identity_caches"
    )
    partitioned = [
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if graph.get(k).partitions_def is not None
    ]
    for name in partitioned:
        pdef = graph.get(dg.AssetKey(name)).partitions_def
        assert isinstance(pdef, dg.MonthlyPartitionsDefinition)
        assert pdef.get_first_partition_key() == "2008-03"


def test_monthly_job_covers_the_chain(definitions: dg.Definitions) -> None:
    job = definitions.resolve_job_def("discogs_monthly")
    keys = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert keys >= {"discogs_checksum", "identity_caches"} | {
        f"{stage}_{e}" for stage in ("raw", "parsed", "warehouse") for e in ENTITIES
    }
