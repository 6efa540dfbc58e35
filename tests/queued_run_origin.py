"""Where a test's queued run says its code lives: the one non-public Dagster API of the tests.

Dagster refuses a QUEUED run record without the origin of its job (the queue launches the run
from there), and 1.13 has no public way to build that origin outside a loaded workspace. Kept
here, alone, so a Dagster upgrade that moves these classes breaks one small module.
"""

from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin


def monthly_code_origin(job_name: str) -> RemoteJobOrigin:
    """``job_name`` of the project's code location (the module the daemon loads)."""
    return RemoteJobOrigin(RemoteRepositoryOrigin(InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="discogs_assets.definitions")), "__repository__"),
        job_name)
