"""A local Dask cluster of worker processes for the tests of trials on workers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from jupyter_hptune.core.parallel import start_local_cluster


@contextlib.contextmanager
def local_client(n_workers: int) -> Iterator[Any]:
    """A client to the local cluster a search starts, of n_workers processes (not the default client), closed after."""
    cluster, client = start_local_cluster(n_workers)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
