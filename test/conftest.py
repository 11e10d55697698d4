"""Shared test set-up.

DDS isolation: each pytest run picks its own ROS_DOMAIN_ID and keeps discovery on this host, so
test runs that overlap (developers, CI) never exchange messages with each other or the network.
"""
from __future__ import annotations

import os
import random

os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 100)))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_LOCALHOST_ONLY", "1")  # honoured by Humble; Jazzy uses the line above
