"""Health of a node as diagnostic_msgs/DiagnosticArray for /diagnostics: the counters and
their judgements live in the core (core.node_health.NodeHealth, without ROS); report() builds
the message of its statuses()."""
from __future__ import annotations

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from std_msgs.msg import Header

from pose3d_ros.core import node_health
from pose3d_ros.core.node_health import LONE_KEYS, PEOPLE_KEYS, CameraHealth, HealthStatus
from pose3d_ros.core.sync import FrameSynchronizer

__all__ = ["LONE_KEYS", "PEOPLE_KEYS", "CameraHealth", "NodeHealth"]


class NodeHealth(node_health.NodeHealth):
    """Thread-safe counters of a node (core.node_health); report() turns them into a
    DiagnosticArray."""

    def report(self, stamp: Time, now: float, sync: FrameSynchronizer | None = None,
               inputs_arriving: bool = True, extra: dict[str, str] | None = None,
               no_sim_clock: bool = False, worker_ended: str = "") -> DiagnosticArray:
        """DiagnosticArray stamped `stamp` (builtin_interfaces/Time) of statuses(now, ...):
        the pipeline and every camera."""
        statuses = self.statuses(now, sync, inputs_arriving, extra, no_sim_clock,
                                 worker_ended)
        return DiagnosticArray(header=Header(stamp=stamp), status=[_status(s) for s in statuses])


def configure_failed_report(stamp: Time, node_name: str, reason: str) -> DiagnosticArray:
    """The one ERROR status a node publishes when its configure fails (its lifecycle
    publishers do not publish then): "<node>: pipeline", "configure failed: <reason>"."""
    status = HealthStatus(f"{node_name}: pipeline", node_health.ERROR,
                          f"configure failed: {reason}", {}, node_name)
    return DiagnosticArray(header=Header(stamp=stamp), status=[_status(status)])


def _status(status: HealthStatus) -> DiagnosticStatus:
    return DiagnosticStatus(level=bytes([status.level]), name=status.name,
                            message=status.message, hardware_id=status.hardware_id,
                            values=[KeyValue(key=k, value=v) for k, v in status.values.items()])
