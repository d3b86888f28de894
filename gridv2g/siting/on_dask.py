"""The siting screening on Dask workers (:class:`gridv2g.siting.swarm.Screening` with an
``address``): the feeder data and the spec reach every worker once, as a worker plugin
(:class:`SitingData`, also set up on workers that join or restart later), and each worker
thread compiles its :class:`~gridv2g.siting.screening.SitingModel` at its first evaluation
and keeps it; an evaluation then sends only a decision and gets back its row.

Kept in this module (imported where Dask is used, so gridv2g runs without it) under a key
unique to the screening (a hash of the data and a random part: two screenings of the same
data on one shared cluster never tear down each other's models); the plugin's teardown,
when the screening closes, frees them.
"""

from __future__ import annotations

import threading

from distributed import WorkerPlugin

from gridv2g.siting.screening import SitingModel, screen
from gridv2g.siting.shared import Decision

#: on a worker: key -> {"base", "spec", "models": {thread id: compiled SitingModel}}
_SHARED: dict[str, dict] = {}


class SitingData(WorkerPlugin):
    """Puts a screening's base data and spec on every worker (``name`` from ``key``)."""

    def __init__(self, key: str, base, spec):
        self.key, self.base, self.spec = key, base, spec
        self.name = f"gridv2g-siting-{key}"

    def setup(self, worker) -> None:
        _SHARED[self.key] = {"base": self.base, "spec": self.spec, "models": {}}

    def teardown(self, worker) -> None:
        _SHARED.pop(self.key, None)


def evaluate(key: str, decision: Decision, solver: str) -> dict:
    """Screen ``decision`` on this worker's model of ``key`` (compiled on first use, one per
    worker thread: an evaluation sets the model's parameter, so threads never share one)."""
    entry = _SHARED[key]
    thread = threading.get_ident()
    model = entry["models"].get(thread)
    if model is None:
        model = entry["models"][thread] = SitingModel(entry["base"], entry["spec"])
    return screen(model, decision, solver)
