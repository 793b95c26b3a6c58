"""Branch triggers of pfs inputs (``input.pfs.trigger``), as Pachyderm's.

An input ``{repo: data, branch: master, trigger: {branch: staging, commits: 10}}`` reads
``data@master``, and ``master`` only moves when ``staging`` has gathered enough change: users
commit to ``staging``, and when a condition holds the trigger moves ``master`` to ``staging``'s
head, which runs the pipeline as any branch move does. Conditions (Pachyderm's ``isTriggered``):

- ``commits: N``: N commits on the source since the input branch's head;
- ``size: 1G``: the source's head is at least that much larger than the input branch's head;
- ``rate_limit_spec: <cron>``: a tick of the schedule fell between the two heads' commit times;
- ``all: true``: every condition given must hold (else any one does; with none given, ``all``
  alone fires on every commit and nothing else ever fires);
- ``cron_spec: <cron>``: instead of all that, move to the source's head on the schedule.

:class:`TriggerTicker` is called by the controller each time round its loop (with the cron
ticker): it looks at a source branch only when its head changed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from .cron import schedule
from .spec.units import parse_quantity

if TYPE_CHECKING:
    from ..store.records import CommitInfo
    from ..store.store import Store
    from .spec import PipelineSpec, Trigger

__all__ = ["TriggerTicker", "fired"]


def fired(trigger: Trigger, old: CommitInfo | None, new: CommitInfo, store: Store) -> bool:
    """Whether moving the input branch from ``old`` to ``new`` is due (not for ``cron_spec``)."""
    result = trigger.all
    conds: list[bool] = []
    if trigger.size:
        conds.append(
            new.size_bytes - (old.size_bytes if old else 0) >= parse_quantity(trigger.size)
        )
    if trigger.rate_limit_spec:
        then = (old.finished or old.started) if old else datetime.fromtimestamp(0, timezone.utc)
        now = new.finished or new.started
        nxt = schedule(trigger.rate_limit_spec).next(then)
        conds.append(nxt is not None and nxt < now)
    if trigger.commits:
        count, commit = 0, new
        while count < trigger.commits:
            if old is not None and commit.id == old.id:
                break
            count += 1
            if commit.parent is None:
                break
            commit = store.inspect_commit_id(commit.parent)
        conds.append(count >= trigger.commits)
    for cond in conds:
        result = (result and cond) if trigger.all else (result or cond)
    return result


@dataclass
class _Watch:
    repo: str
    target: str
    trigger: Trigger
    seen: str | None = None  # the source head last looked at
    due: datetime | None = None  # cron_spec: the next tick


class TriggerTicker:
    """Moves input branches whose triggers fire (see the module docstring).

    Parameters
    ----------
    store : Store
    specs : callable
        Returns ``{name: PipelineSpec}`` of the pipelines that have triggers.
    rescan_s : float
        How often the pipelines are reread.
    """

    def __init__(
        self, store: Store, specs: _Specs, *, rescan_s: float = 2.0, clock: _Clock = time.time
    ) -> None:
        self.store = store
        self.specs = specs
        self.rescan_s = rescan_s
        self.clock = clock
        self._watches: dict[tuple[str, str], _Watch] = {}
        self._scanned = float("-inf")

    def run(self) -> list[tuple[str, str, str]]:
        """Fire what is due; ``(repo, branch, new head)`` of each branch moved."""
        now_s = self.clock()
        if now_s - self._scanned >= self.rescan_s:
            self._rescan(now_s)
        now = datetime.fromtimestamp(now_s, timezone.utc)
        moved = []
        heads = self._heads({w.repo for w in self._watches.values()})
        for w in self._watches.values():
            source = heads.get((w.repo, w.trigger.branch))
            target = heads.get((w.repo, w.target))
            if w.trigger.cron_spec:
                if w.due is None or w.due > now:
                    continue
                w.due = schedule(w.trigger.cron_spec).next(now)
            elif source == w.seen:
                continue
            else:
                w.seen = source
            if source is None or source == target:
                continue
            if not w.trigger.cron_spec:
                old = self.store.inspect_commit_id(target) if target else None
                if not fired(w.trigger, old, self.store.inspect_commit_id(source), self.store):
                    continue
            self._move(w.repo, w.target, source)
            moved.append((w.repo, w.target, source))
        return moved

    def _move(self, repo: str, branch: str, head: str) -> None:
        from ..store.refs import Ref

        self.store.create_branch(repo, branch, head=Ref(repo, head, explicit=True))

    def _heads(self, repos: set[str]) -> dict[tuple[str, str], str | None]:
        if not repos:
            return {}
        return {(b.repo, b.name): b.head for b in self.store.list_branch() if b.repo in repos}

    def _rescan(self, now_s: float) -> None:
        self._scanned = now_s
        now = datetime.fromtimestamp(now_s, timezone.utc)
        found: dict[tuple[str, str], _Watch] = {}
        for spec in self.specs().values():
            for trig_repo, branch, trigger in _triggers(spec):
                key = (trig_repo, branch)
                old = self._watches.get(key)
                if old is not None and old.trigger == trigger:
                    found[key] = old
                    continue
                due = schedule(trigger.cron_spec).next(now) if trigger.cron_spec else None
                found[key] = _Watch(trig_repo, branch, trigger, due=due)
        self._watches = found


def _triggers(spec: PipelineSpec) -> list[tuple[str, str, Trigger]]:
    from .spec import iter_pfs

    return [(p.repo, p.branch, p.trigger) for _, p in iter_pfs(spec.input) if p.trigger]


class _Specs(Protocol):
    def __call__(self) -> dict[str, PipelineSpec]: ...


class _Clock(Protocol):
    def __call__(self) -> float: ...


def has_triggers(spec: Any) -> bool:
    """Whether a pipeline spec has an input with a trigger."""
    return bool(_triggers(spec))
