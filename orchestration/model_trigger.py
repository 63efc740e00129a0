"""The model tasks of the watcher transform, followed by the triggerer instead of a worker.

Under a scheduler every model task starts in the triggerer (Airflow's `start_from_trigger`): no
worker process starts for it, and it takes no executor slot while the one `dbt build` runs. Its
trigger (Cosmos's, made lean: it reads the build's result for the model from the producer's XComs)
ends the task there when the model succeeded or was skipped. Only a model that failed, or a retry,
comes back to a worker: the failure is raised there as Cosmos raises it, and a retry runs `dbt run`
of that model alone (Cosmos's fallback).

`airflow dags test` (and `dag.test()`) never starts tasks from a trigger: there the same tasks run
`execute`, which follows the build by rescheduling (transform._follow_by_rescheduling).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import ClassVar

from airflow.sdk.bases.sensor import BaseSensorOperator
from airflow.triggers.base import StartTriggerArgs, TaskSkippedEvent, TaskSuccessEvent, TriggerEvent
from cosmos.listeners.dag_run_listener import EventStatus
from cosmos.operators._watcher.state import (
    ProducerTaskState,
    _log_dbt_event,
    get_dbt_event_xcom_key,
    is_dbt_node_status_failed,
    is_dbt_node_status_skipped,
    is_dbt_node_status_success,
)
from cosmos.operators._watcher.triggerer import WatcherEventReason, WatcherTrigger

TRIGGER = f"{__name__}.ModelResultTrigger"
# How often a trigger reads its model's result: each look is a call to the API server, and a run
# has about 80 of them waiting at once.
TRIGGER_POKE_SECONDS = 10.0
STALE_SECONDS = 3600  # a run's shared producer state is forgotten after this long unread


class ModelResultTrigger(WatcherTrigger):  # type: ignore[misc]  # Cosmos ships no type hints
    """Cosmos's watcher trigger, lean, for a task started in the triggerer.

    - The run comes from the task instance (a start trigger's arguments are fixed at parse time).
    - Each look is one read of the model's result. The producer's state is read once per run and
      interval for all of the run's triggers (`_producer_states`), not once per model.
    - A success or a skip ends the task here. A failure resumes it on a worker, where Cosmos raises it.
    """

    _producer_states: ClassVar[dict[tuple[str, str, str], tuple[float, str | None]]] = {}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        ti = self.task_instance
        run_id: str = getattr(self, "run_id", "")
        if ti is not None and not run_id:
            self.dag_id, self.run_id, self.map_index = ti.dag_id, ti.run_id, ti.map_index
        if ti is not None and ti.try_number > 1:
            # A retry: the worker runs the model alone (Cosmos's fallback when the build is over).
            yield _event(EventStatus.FAILED, WatcherEventReason.PRODUCER_SKIPPED)
            return
        while True:
            status, _ = await self._parse_dbt_node_status_and_compiled_sql()
            if is_dbt_node_status_success(status) or is_dbt_node_status_skipped(status):
                if not self.is_test_sensor:  # the model's dbt log line, in the task's log
                    _log_dbt_event(await self.get_xcom_val(get_dbt_event_xcom_key(self.model_unique_id)))
                yield TaskSuccessEvent() if is_dbt_node_status_success(status) else TaskSkippedEvent()
                return
            if is_dbt_node_status_failed(status):
                yield _event(EventStatus.FAILED, WatcherEventReason.NODE_FAILED)
                return
            producer = await self._shared_producer_state()
            if producer == ProducerTaskState.FAILED:
                yield _event(EventStatus.FAILED, WatcherEventReason.PRODUCER_FAILED)
                return
            if producer == ProducerTaskState.SKIPPED:
                yield _event(EventStatus.FAILED, WatcherEventReason.PRODUCER_SKIPPED)
                return
            if producer == ProducerTaskState.SUCCESS:
                status, _ = await self._parse_dbt_node_status_and_compiled_sql()  # written before the end
                if status is None:  # an ephemeral model or an empty file: dbt ran nothing
                    yield TaskSuccessEvent()
                    return
                continue
            await asyncio.sleep(self.poke_interval)

    async def _shared_producer_state(self) -> str | None:
        key = (self.dag_id, self.run_id, self.producer_task_id)
        now = time.monotonic()
        seen = self._producer_states.get(key)
        if seen is None or now - seen[0] >= self.poke_interval:
            seen = (now, await self._get_producer_task_status())
            self._producer_states[key] = seen
            # The triggerer lives for days: forget the runs nobody asked about for an hour.
            for old in [k for k, (at, _) in self._producer_states.items() if now - at > STALE_SECONDS]:
                del self._producer_states[old]
        return seen[1]


def _event(status: str, reason: str) -> TriggerEvent:
    return TriggerEvent({"status": status, "reason": reason})  # type: ignore[no-untyped-call]


def start_in_triggerer(sensor: BaseSensorOperator) -> None:
    """Make one of Cosmos's consumer sensors start in the triggerer under a scheduler."""
    sensor.start_from_trigger = True
    sensor.start_trigger_args = StartTriggerArgs(
        trigger_cls=TRIGGER,
        trigger_kwargs={
            "model_unique_id": sensor.model_unique_id,  # type: ignore[attr-defined]
            "producer_task_id": sensor.producer_task_id,  # type: ignore[attr-defined]
            "dag_id": "",
            "run_id": "",  # filled in from the task instance when the trigger runs
            "map_index": None,
            "poke_interval": TRIGGER_POKE_SECONDS,
            "is_test_sensor": bool(getattr(sensor, "is_test_sensor", False)),
        },
        next_method="execute_complete",
        next_kwargs=None,
        timeout=sensor.execution_timeout,
    )
