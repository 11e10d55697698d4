"""Shared test set-up.

DDS isolation: each pytest run picks its own range of ROS_DOMAIN_ID values and keeps discovery
on this host, so test runs that overlap (developers, CI) never exchange messages with each
other or the network; and every test module gets a domain of its own within that range (set
in the environment, so the executables a test starts join it too), so no node, latched
/tf_static or /rosout message of one module reaches another, whatever the order they run in.
"""
from __future__ import annotations

import itertools
import os
import random

import pytest

os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 100)))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_LOCALHOST_ONLY", "1")  # honoured by Humble; Jazzy uses the line above

_BASE_DOMAIN = int(os.environ["ROS_DOMAIN_ID"])
_MODULE_INDEX = itertools.count()


@pytest.fixture(autouse=True, scope="module")
def _dds_domain_per_module():
    """ROS_DOMAIN_ID of this test module: the run's base domain + the module's index, kept in
    1..101 (the ids every DDS implementation supports on Linux)."""
    domain = 1 + (_BASE_DOMAIN - 1 + next(_MODULE_INDEX)) % 101
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    yield domain
    os.environ["ROS_DOMAIN_ID"] = str(_BASE_DOMAIN)
