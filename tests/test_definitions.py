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


def _monthly_steps_snapshot() -> dict[str, list[str]]:
    """Each step of a monthly run and the checks it evaluates (``*``: blocking)."""
    per_entity = {
        "raw": ["sha256_verified*"],
        "parsed": ["count_drift*", "missing_key_fields", "non_empty*",
                   "schema_and_unique_keys*"],
        "warehouse": ["referential_integrity"],
    }
    steps = {f"{stage}_{e}": list(checks) for stage, checks in per_entity.items()
             for e in ENTITIES}
    steps["warehouse_releases"] = ["health_views_agree", "referential_integrity"]
    return {
        "discogs_checksum": [],
        # Not partitioned (it judges the newest published month): a step of its own.
        "discogs_checksum_latest_month_fresh": ["latest_month_fresh"],
        **steps,
        "identity_caches": [],
        "lml_cache_refresh": ["identity_references_current"],
    }


def test_monthly_run_steps_evaluate_their_own_checks(definitions: dg.Definitions) -> None:
    # A check declared apart from its asset is a step of its own, and every step of the
    # multiprocess executor is a process: keep them with their assets.
    job = definitions.resolve_job_def("discogs_monthly")
    checks_by_node = {
        assets_def.node_def.name: sorted(
            spec.name + ("*" if spec.blocking else "") for spec in assets_def.check_specs)
        for assets_def in definitions.resolve_asset_graph().assets_defs
        if assets_def.is_executable
    }
    assert {node.name: checks_by_node[node.name] for node in job.nodes} == (
        _monthly_steps_snapshot())
