"""The executor choice (DISCOGS_EXECUTOR) and the queue each step goes to."""

from __future__ import annotations

import pytest

from discogs_assets.definitions import defs, step_executor
from discogs_assets.executors import (
    CELERY_QUEUE_TAG,
    IO_QUEUE,
    celery_executor_config,
    select_executor,
)
from discogs_assets.lib.settings import Settings
from discogs_assets.lib.tables import ENTITIES


def test_default_is_multiprocess_and_celery_is_chosen_by_setting(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISCOGS_EXECUTOR", raising=False)
    default = defs().resolve_job_def("discogs_monthly").executor_def
    assert default.name == step_executor.name == "multiprocess"  # the forkserver executor
    monkeypatch.setenv("DISCOGS_EXECUTOR", "celery")
    monkeypatch.setenv("DISCOGS_CELERY_BROKER", "amqp://app:s3cret@mq.internal:5672//")
    definitions = defs()
    for job in ("discogs_monthly", "__ASSET_JOB"):
        executor = definitions.resolve_job_def(job).executor_def
        assert executor.name == "celery", job
    config = celery_executor_config(Settings.from_env())
    assert config["broker"] == {"env": "DISCOGS_CELERY_BROKER"}  # the password stays in the env
    assert "s3cret" not in repr(config)
    assert config["config_source"]["task_acks_late"] is True
    with pytest.raises(ValueError, match="DISCOGS_EXECUTOR='k8s'"):
        select_executor(Settings(executor="k8s"))


def test_network_steps_go_to_the_io_queue_the_rest_to_cpu() -> None:
    job = defs().resolve_job_def("discogs_monthly")
    tags = {node.name: node.definition.tags for node in job.graph.nodes}
    io = {name for name, t in tags.items() if t.get(CELERY_QUEUE_TAG) == IO_QUEUE}
    assert io == {"discogs_checksum", *(f"raw_{e}" for e in ENTITIES)}
    assert not {t.get(CELERY_QUEUE_TAG) for name, t in tags.items() if name not in io} - {None}
