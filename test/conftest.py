"""Shared test set-up.

DDS isolation: each pytest run picks its own range of ROS_DOMAIN_ID values and keeps discovery
on this host, so test runs that overlap (developers, CI) never exchange messages with each
other or the network; and every test module gets a domain of its own within that range (set
in the environment, so the executables a test starts join it too), so no node, latched
/tf_static or /rosout message of one module reaches another, whatever the order they run in,
and modules running at the same time in parallel workers (pytest-xdist, scripts/test.sh) never
share one: a module's domain is the base + its place among the suite's modules, the same in
every worker (the workers inherit the base from the controller's environment).
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 100)))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_LOCALHOST_ONLY", "1")  # honoured by Humble; Jazzy uses the line above

_BASE_DOMAIN = int(os.environ["ROS_DOMAIN_ID"])
# ROS domain ids whose DDS ports stay clear of Linux's ephemeral ports (32768-60999): 1..101 and
# 215..232 (ROS 2's "About Domain ID"; 0 left to users' own nodes; ids near 232 take fewer
# participants, about 60, far more than a test module starts). (The suite outgrew 101.)
_DOMAINS = tuple(range(1, 102)) + tuple(range(215, 233))
_MODULES = sorted(path.name for path in Path(__file__).parent.glob("test_*.py"))
if len(_MODULES) > len(_DOMAINS):
    raise RuntimeError(f"{len(_MODULES)} test modules but {len(_DOMAINS)} DDS domains: two "
                       "modules running in parallel workers could share one; give conftest.py "
                       "a rule")


@pytest.fixture(autouse=True, scope="module")
def _dds_domain_per_module(request: pytest.FixtureRequest):
    """ROS_DOMAIN_ID of this test module: the module's place among the suite's modules, counted
    from the run's base domain along _DOMAINS (and round)."""
    name = Path(str(request.module.__file__)).name
    index = _MODULES.index(name) if name in _MODULES else len(_MODULES)
    # (a base outside them still picks its own place: two runs on bases 0 and 150 walked
    # the same domains in step, a review)
    start = _DOMAINS.index(_BASE_DOMAIN) if _BASE_DOMAIN in _DOMAINS \
        else _BASE_DOMAIN % len(_DOMAINS)
    domain = _DOMAINS[(start + index) % len(_DOMAINS)]
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    yield domain
    os.environ["ROS_DOMAIN_ID"] = str(_BASE_DOMAIN)
