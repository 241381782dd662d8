"""Sharding a judge run across machines: which calls a shard makes.

A call belongs to shard ``I`` of ``N`` when its cache key (a SHA-256 hex
digest, :func:`evalkit.judge.cache.cache_key`) read as an integer is
``I - 1`` modulo ``N``. The key depends on the call only (server, model,
template, protocol, parameters, messages without the run's nonce), never on
the run: shards never overlap, every machine computes the same split, and a
run sharded another way (or not at all) finds the calls of earlier shards in
their caches. Jobs that need no call (an input is missing) belong to shard 1.

>>> shard_of("00000000000000000000000000000000000000000000000000000000000000ff", 4)
4
>>> from evalkit.judge.types import Shard
>>> shard_of("ff", 4) == Shard(4, 4).number
True
"""

from __future__ import annotations

import hashlib

from evalkit.judge.calls import Plan
from evalkit.judge.types import Job, Shard, WholeRun

__all__ = ["job_shard", "shard_of", "shard_plan", "whole_run"]


def shard_of(key: str, count: int) -> int:
    """The shard (1-based) of ``count`` that the call with cache key ``key`` belongs to."""
    return int(key, 16) % count + 1


def job_shard(job: Job, count: int) -> int:
    """The shard of a job: its call's, or shard 1 for a job without a call."""
    return shard_of(job.key, count) if job.key is not None else 1


def shard_plan(plan: Plan, shard: Shard) -> Plan:
    """The part of ``plan`` that ``shard`` judges: its jobs and its calls."""
    jobs = tuple(job for job in plan.jobs if job_shard(job, shard.total) == shard.number)
    calls = {key: messages for key, messages in plan.calls.items() if shard_of(key, shard.total) == shard.number}
    # the repeats' own parameters (their seeds) go with their calls
    call_params = {key: params for key, params in plan.call_params.items() if key in calls}
    return Plan(jobs, calls, plan.params, call_params)


def whole_run(plan: Plan) -> WholeRun:
    """The whole run's calls and the SHA-256 of their sorted cache keys: the
    merge refuses shards that planned other calls (other data, another limit)."""
    digest = hashlib.sha256("\n".join(sorted(plan.calls)).encode("ascii")).hexdigest()
    return WholeRun(len(plan.calls), digest)
