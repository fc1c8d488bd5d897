"""A local Dask cluster of worker processes for the tests of trials on workers."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def local_client(n_workers: int) -> Iterator[Any]:
    """A client to a local cluster of n_workers single-threaded processes (not the default client), closed after."""
    import distributed

    sys.modules["__main__"].__dict__.setdefault("__spec__", None)  # spawn reads it; the shell fixture's reset drops it
    cluster = distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # its HTTP server on a free port
    )
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
