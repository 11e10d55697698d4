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
_DOMAINS = 101  # ROS domain ids 1..101: those every DDS implementation supports on Linux
_MODULES = sorted(path.name for path in Path(__file__).parent.glob("test_*.py"))
if len(_MODULES) > _DOMAINS:
    raise RuntimeError(f"{len(_MODULES)} test modules but {_DOMAINS} DDS domains: two modules "
                       "running in parallel workers could share one; give conftest.py a rule")


@pytest.fixture(autouse=True, scope="module")
def _dds_domain_per_module(request: pytest.FixtureRequest):
    """ROS_DOMAIN_ID of this test module: the run's base domain + the module's place among the
    suite's modules, kept in 1..101."""
    name = Path(str(request.module.__file__)).name
    index = _MODULES.index(name) if name in _MODULES else len(_MODULES)
    domain = 1 + (_BASE_DOMAIN - 1 + index) % _DOMAINS
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    yield domain
    os.environ["ROS_DOMAIN_ID"] = str(_BASE_DOMAIN)
