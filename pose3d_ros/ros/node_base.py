"""What the three nodes share: parameters, lifecycle, synchroniser, processing thread, health
and /diagnostics (PoseNodeBase).

Threads: subscription callbacks (executor thread) only check input and hand frames to the
synchroniser; one processing thread sleeps until a frame arrives or the oldest open frame set
times out (no polling timer), takes the NEWEST finished set, runs the pipeline and publishes,
so the node never queues up latency when the detector is slower than the cameras (older sets
are dropped and counted). Anything the pipeline reads while processing (calibration) is
changed by that thread only, between sets (see _between_sets).

Publishers are lifecycle publishers: nothing goes out while the node is inactive.
"""
from __future__ import annotations

import ctypes
import functools
import gc
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.srv import ChangeState
from rcl_interfaces.msg import SetParametersResult
from rclpy.clock import Clock, ClockType, JumpThreshold, TimeJump
from rclpy.duration import Duration
from rclpy.exceptions import InvalidHandle
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.task import Future

from pose3d_ros.core.detection import providers_problem
from pose3d_ros.core.detection.onnx_session import provider_warnings_silenced
from pose3d_ros.core.messages import ns_to_seconds
from pose3d_ros.core.output_files import interrupted
from pose3d_ros.core.pipeline import create_detectors
from pose3d_ros.core.sync import (
    FrameSet,
    FrameSynchronizer,
    SyncParams,
    cameras_far_above,
    cameras_off_the_others,
)

from .diagnostics import NodeHealth
from .node_input import (
    OUTPUT_QOS,
    QOS_OVERRIDES,
    InputGate,
    image_qos,
    image_subscription,
)
from .parameters import (
    QOS_OVERRIDES_PREFIX,
    ParameterError,
    ParamSpec,
    declare_parameters,
    detector_options,
    read_parameters,
    rules_broken,
    unknown_overrides,
    unused_qos_overrides,
)

DIAGNOSTICS_TOPIC = "/diagnostics"
# Stamp-related drops that mean bad input (logged and reported); other drops are normal load.
BAD_STAMP_REASONS = ("duplicate_stamp", "stamp_backwards", "late")
# A camera is reported when its rate exceeds the median of the others by this factor.
RATE_MISMATCH_FACTOR = 3.0
# Rejections that are expected while a system starts: counted, logged at DEBUG only (the
# camera's calibration line says how many came first; no camera_info CAMERA_INFO_WAIT_S after
# the first image is a WARN).
START_UP_REASONS = ("no_camera_info",)
IDLE_WAKE_S = 1.0   # longest the processing thread sleeps when nothing is pending
# A stamp this far ahead of the node's clock (s) is a clock fault: rejected, so it cannot make
# the frames of the other cameras look late. Clocks of networked computers agree far better.
FUTURE_TOLERANCE_S = 2.0
# A jump back of the node's clock (simulated time: /clock of a looping replay) this long or
# longer restarts the synchroniser.
CLOCK_JUMP_BACK_S = 0.5
# For this long (s) after such a jump, frames stamped in the abandoned pass (more than half the
# jump ahead of the clock; the 2D of a distributed rig arrives after /clock went back) are
# ignored at INFO ("before_clock_jump") instead of told as clock faults or let into the new pass.
OLD_PASS_GRACE_S = 1.0
# With use_sim_time, no /clock this long (s) after activation is told (log and diagnostics).
SIM_CLOCK_WAIT_S = 5.0
# Images arriving this long (s) without any output is logged at WARN (once per stall, at most
# every STALL_LOG_PERIOD_S), and the output's return at INFO: /diagnostics says it after 2 s,
# but a user watching only the log saw nothing while the node published nothing.
STALL_LOG_AFTER_S = 10.0
STALL_LOG_PERIOD_S = 60.0
# Images arriving this long (s) after activation with no valid camera_info are told at WARN.
CAMERA_INFO_WAIT_S = 5.0
# While running, the processing thread hands the heap's free pages back to the system this
# often (s): the "keep" allocator policy otherwise holds the high-water mark of queued images
# for good (a 30-minute soak grew 17 %); the next few images refill what they need.
MEMORY_TRIM_PERIOD_S = 10.0
# The pipeline status's key naming the parameters changed since configure (not in force yet).
PENDING_PARAMETERS_KEY = "parameters_changed_since_configure"
WORKER_STOP_WAIT_S = 10.0     # deactivate waits this long for the set being processed
# after an error outside a set's processing the processing thread waits this long (s) before
# it tries again: an error that repeats is told at reject()'s pace without a busy loop
WORKER_ERROR_PAUSE_S = 0.1


_ALL_CAMERAS = ""        # _camera_states_told's key of the whole rig (no camera's name)
# a camera seen stale is warned about when it still is this long after (s), with another
# camera sending then: cameras that stop together (a replay's end) are told as the rig
STALE_CONFIRM_S = 0.5

class PoseNodeBase(LifecycleNode):
    """The shared lifecycle node; the concrete nodes fill in the hooks below."""

    SPECS: tuple[ParamSpec, ...] = ()

    def __init__(self, node_name: str, **kwargs: Any) -> None:
        set_allocator_policy()
        super().__init__(node_name, **kwargs)
        declare_parameters(self, self.SPECS)
        if unknown := unknown_overrides(self):
            self.get_logger().warning(
                f"ignored, not parameters of this node: {', '.join(unknown)}; 'ros2 param "
                f"list {self.get_fully_qualified_name()}' lists them (docs/nodes.md)")
        self.add_pre_set_parameters_callback(self._numbers_as_declared)
        self.add_on_set_parameters_callback(self._check_new_parameters)
        self._guard_change_state_service()
        self.config: Any = None
        self.cameras: tuple[str, ...] = ()
        # "qos_overrides.<topic>.<subscription|publisher>" of every overridable topic made
        self._qos_overridable: set[str] = set()
        self.sync: FrameSynchronizer | None = None
        self.health: NodeHealth | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop_worker = threading.Event()    # the running worker's own: set to stop it
        self._worker: threading.Thread | None = None
        # a processing thread that outlived deactivate's wait, still on its last set
        self._late_worker: threading.Thread | None = None
        # set by shutdown / destroy_node when the late thread still runs: it closes them;
        # the late thread marks its end under the same lock
        self._close_models_after_set = False
        self._late_worker_done = False
        self._close_lock = threading.Lock()
        # done once the node is shut down (finalized): its executable then ends
        self.finalized = Future()
        self._owned_subscriptions: list = []
        self._input_subscriptions: dict[str, Any] = {}   # camera -> its images' / 2D's
        self._owned_timers: list = []
        self._owned_publishers: list = []
        # /diagnostics when configure fails: a plain publisher, made here so that monitors
        # have discovered it by then (_tell_configure_failed)
        self._failure_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, OUTPUT_QOS)
        self._pending_parameters: set[str] = set()     # changed since (PENDING_PARAMETERS_KEY)
        self._configured_parameters: dict[str, object] = {}   # as the last configure read
        self._time_resets_logged = 0
        self._clock_jump_handle: Any = None
        self._activated_at = time.monotonic()
        self._told_no_publisher: set[str] = set()  # cameras told no_publisher this activation
        self._told_no_sim_clock = False
        # camera -> its state last told (_ALL_CAMERAS: the rig's, all stopped or not)
        self._camera_states_told: dict[str, str] = {}
        self._stale_since: dict[str, float] = {}   # camera -> when first seen stale, not told
        self._stall_since: float | None = None   # when the logged, still open stall began
        self._first_output_told = False       # this activation's first people logged
        self._last_stall_log = -STALL_LOG_PERIOD_S
        # _extra_diagnostics() as the worker last computed it, after a set: the state it reads
        # (the trackers) is the worker's, changed mid-update (replaced whole, never edited)
        self._worker_diagnostics: dict[str, str] = {}
        self._clock_at_frame: dict[str, float] = {}   # camera -> node's clock (s), last frame
        # the last jump back of the clock: (clock before, clock after (s), monotonic time)
        self._clock_jumped_back: tuple[float, float, float] | None = None
        # the last restart the stamps made (a replay looping): (stamp (s), monotonic time)
        self._stamps_restarted: tuple[float, float] | None = None
        self.last_error: str = ""
        # why this activation's processing thread ended by itself ('' while it runs or was
        # stopped): the log says it once, /diagnostics in every report until activate
        self._worker_ended = ""
        # Image subscriptions join this group when skip_images_while_busy: closed while a set
        # is processed; _gate_opened wakes the executor when it opens again.
        self.input_gate = InputGate()
        self._gate_opened: Any = None

    def _guard_change_state_service(self) -> None:
        """Answer a change_state request by a transition id that is not valid in the current
        state with success=False, as one by label is answered: rclpy 7.1 raised from the
        service instead (ros2/rclpy#1209), out of spin, and the node died (found by an audit
        calling the service as a lifecycle manager that sends ids does)."""
        service = getattr(self, "_service_change_state", None)
        if service is None:
            return
        handle = service.callback

        def change_state(request: ChangeState.Request, response: ChangeState.Response
                         ) -> ChangeState.Response:
            transition = request.transition
            valid = {t[0] for t in self._state_machine.available_transitions}
            if not transition.label and transition.id not in valid:
                self.get_logger().warning(
                    f"change_state: transition id {transition.id} is not valid in state "
                    f"{self._state_machine.current_state[1]!r} (valid: {sorted(valid)})")
                response.success = False
                return response
            return handle(request, response)

        service.callback = change_state

    @property
    def diagnostics_name(self) -> str:
        """The node's fully qualified name without the leading slash ("cam01/pose3d_detector"):
        the name of its /diagnostics statuses, unique per namespace."""
        return self.get_fully_qualified_name().lstrip("/")

    def _numbers_as_declared(self, parameters: list[Parameter]) -> list[Parameter]:
        """`ros2 param set <node> sync.slop_s 1` sends an integer, which rclpy refuses for a
        double parameter ("Wrong parameter type", without its name): take it as the double
        it means; and a whole double for an integer parameter (`sync.min_views 2.0`, a
        review) as that integer."""
        declared = {spec.name: spec.type for spec in self.SPECS}

        def as_declared(p: Parameter) -> Parameter:
            wanted = declared.get(p.name)
            if wanted == Parameter.Type.DOUBLE and p.type_ == Parameter.Type.INTEGER:
                return Parameter(p.name, wanted, float(p.value))
            if (wanted == Parameter.Type.INTEGER and p.type_ == Parameter.Type.DOUBLE
                    and float(p.value).is_integer()):
                return Parameter(p.name, wanted, int(p.value))
            return p

        return [as_declared(p) for p in parameters]

    def _check_new_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """Refuse a runtime change that breaks a choice or range, with the reason (rclpy
        enforces the descriptor ranges, not the choices). Values are read at configure: once
        the node is configured, an accepted change is logged (INFO) with when it takes effect,
        and one that breaks a rule between parameters (WARN) with what the next configure
        will refuse (accepted: changes come one parameter at a time). The same text is the
        result's reason, which rclpy 7.1 drops for an accepted change."""
        specs = {spec.name: spec for spec in self.SPECS}
        for parameter in parameters:
            spec = specs.get(parameter.name)
            if spec is None:
                continue
            try:
                spec.check(parameter.value)
            except ParameterError as err:
                return SetParametersResult(successful=False, reason=str(err))
        if self.config is None:                  # unconfigured: read at the next configure
            return SetParametersResult(successful=True)
        # only this node's own parameters wait for a configure (rclpy applies use_sim_time
        # at once), and only changed ones are told (a review: `ros2 param load` of the node's
        # own dump logged 53 lines, and use_sim_time was told to wait for a configure)
        changed = [p for p in parameters if p.name in specs and not (
            self.has_parameter(p.name) and self.get_parameter(p.name).value == p.value)]
        if not changed:
            return SetParametersResult(successful=True)
        names = ", ".join(p.name for p in changed)
        # a value set back to the configured one waits for nothing (a review: still listed)
        back = {p.name for p in changed if p.name in self._configured_parameters
                and self._configured_parameters[p.name] == p.value}
        self._pending_parameters = (self._pending_parameters | {p.name for p in changed}) - back
        if self.health is not None:     # on /diagnostics too: rqt and `ros2 param get` show
            self.health.constants[PENDING_PARAMETERS_KEY] = ", ".join(     # the new values
                sorted(self._pending_parameters))
        if len(back) == len(changed):
            reason = f"stored; {names} back to the value the node was configured with"
            self.get_logger().info(f"parameter change: {reason}")
            return SetParametersResult(successful=True, reason=reason)
        reason = (f"stored; {names} takes effect at the next configure (deactivate, "
                  "cleanup, configure, activate)")
        broken = rules_broken(self, self.SPECS, {p.name: p.value for p in changed})
        if broken:
            reason += f"; as the parameters stand, that configure will refuse: {broken}"
            self.get_logger().warning(f"parameter change: {reason}")
        else:
            self.get_logger().info(f"parameter change: {reason}")
        return SetParametersResult(successful=True, reason=reason)

    # -- lifecycle ---------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.last_error = ""
        self._configured_values: dict[str, str] = {}   # shown on /diagnostics (pipeline)
        self._qos_overridable = set()     # this configuration's topics (a review: the last
        # configuration's cameras were named too)
        self._pending_parameters = set()
        self._configured_parameters = {}
        try:
            self.config = read_parameters(self, self.SPECS)
            # the values this configure read: a change back to one of them waits for nothing
            self._configured_parameters = {
                spec.name: self.get_parameter(spec.name).value for spec in self.SPECS
                if self.has_parameter(spec.name)}
            self._configure(self.config)
        except Exception as err:  # noqa: BLE001 - rclpy would swallow it without a word
            self.last_error = str(err)
            self._release()
            if self._shutting_down():
                # Ctrl-C or SIGTERM while configure loaded the models (seconds; minutes for a
                # first TensorRT build): the stop that was asked for, not a fault (a review:
                # an ERROR 'configure failed: RCLError ... context is invalid' at every such
                # stop of a starting node)
                self.config = None
                return TransitionCallbackReturn.FAILURE
            self.get_logger().error(f"configure failed: {type(err).__name__}: {err}")
            self._tell_configure_failed(f"{type(err).__name__}: {err}")
            # unconfigured again: a parameter change now takes effect at the next configure,
            # not "after deactivate, cleanup" (found by an audit: the advice read as if the
            # failed configuration were running)
            self.config = None
            return TransitionCallbackReturn.FAILURE
        self.health = NodeHealth(self.diagnostics_name, self.cameras,
                                 constants=self._configured_values)
        self._time_resets_logged = 0     # counted by the new synchroniser
        self._camera_states_told = {}
        self._stale_since = {}
        self._after_configure()
        self.diagnostics_pub = self._publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, OUTPUT_QOS,
                                               overridable=False)
        self.get_logger().info(f"configured: cameras {list(self.cameras)}" + (
            " (2D only: publish_2d with monocular_method 'none', no 3D people)"
            if self._two_d_only() else ""))
        return TransitionCallbackReturn.SUCCESS

    def _two_d_only(self) -> bool:
        """Whether this node publishes 2D only by design (no 3D people to expect)."""
        return False

    def _late_worker_ended(self, transition: str) -> bool:
        """Whether no processing thread of an earlier activation still runs (waiting up to
        WORKER_STOP_WAIT_S for one that outlived deactivate's wait); ERROR if one does. It
        ran beside the next activation's and published its stale set through its
        publishers, or met the models cleanup had closed (a review)."""
        late = self._late_worker
        if late is None:
            return True
        late.join(timeout=WORKER_STOP_WAIT_S)
        if late.is_alive():
            self.get_logger().error(
                f"{transition} refused: the processing thread of the last activation still "
                "processes a frame set; try again when it ends")
            return False
        self._late_worker = None
        return True

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        if not self._late_worker_ended("activate"):
            return TransitionCallbackReturn.FAILURE
        result = super().on_activate(state)     # enables the lifecycle publishers first
        if result != TransitionCallbackReturn.SUCCESS:
            return result
        try:
            return self._activate(result)
        except Exception as err:  # noqa: BLE001 - rclpy would swallow it without a word
            # and its default on_error would drop the node to unconfigured holding all it
            # made at configure; FAILURE keeps it inactive, configured, nothing running
            self.last_error = str(err)
            if not self._shutting_down():     # (Ctrl-C meanwhile: no fault; see on_configure)
                self.get_logger().error(f"activate failed: {type(err).__name__}: {err}")
            self._stop()
            super().on_deactivate(state)
            return TransitionCallbackReturn.FAILURE

    def _activate(self, result: TransitionCallbackReturn) -> TransitionCallbackReturn:
        """on_activate's work after the publishers are enabled."""
        self.input_gate.is_open = True
        if self._gate_opened is None:
            self._gate_opened = self.create_guard_condition(lambda: None)
        self._subscribe()
        # on the steady clock: under use_sim_time with no /clock (yet) a timer on the node's
        # clock never fires, and the report would go silent when it is most needed
        self._owned_timers.append(self.create_timer(
            self.config.diagnostics_period_s, self.publish_diagnostics,
            clock=Clock(clock_type=ClockType.STEADY_TIME)))
        self._activated_at = time.monotonic()
        self._told_no_publisher = set()
        self._stall_since = None
        self._stale_since = {}     # a stale camera of the last activation is seen anew
        self._first_output_told = False
        # a fresh event per worker: one that outlived its stop (below) must not run again
        # beside the next activation's
        self._stop_worker = threading.Event()
        self._worker_ended = ""
        self._worker = threading.Thread(target=self._work, args=(self._stop_worker,),
                                        name=f"{self.get_name()}_worker", daemon=True)
        self._worker.start()
        self._clock_jump_handle = self.get_clock().create_jump_callback(JumpThreshold(
            min_forward=None, min_backward=Duration(seconds=-CLOCK_JUMP_BACK_S),
            on_clock_change=False), post_callback=self._on_clock_jump)
        self._after_activate()
        if unused := unused_qos_overrides(self):
            self.get_logger().warning(
                f"ignored, no topic of this node takes them: {', '.join(unused)} (the "
                "overridable ones: history, depth and reliability of "
                + (", ".join(sorted(self._qos_overridable)) or "none")
                + "; docs/nodes.md, QoS)")
        self.get_logger().info("active")
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop()
        self.get_logger().info("inactive")     # as configure and activate tell theirs
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        if not self._late_worker_ended("cleanup"):
            return TransitionCallbackReturn.FAILURE
        self._release()
        self.config = None     # unconfigured: a parameter change is read at the next configure
        self.get_logger().info("cleaned up (unconfigured)")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop()
        if self._late_worker is not None:         # its models are released next
            self._late_worker.join(timeout=WORKER_STOP_WAIT_S)
        self._release(close_models=not self._models_closed_after_late_worker())
        self.get_logger().info("shut down (finalized)")
        self.finalized.set_result(True)
        return TransitionCallbackReturn.SUCCESS

    def destroy_node(self) -> None:
        """Stop the processing thread before the node goes (it may be publishing)."""
        self._stop()
        if not self._models_closed_after_late_worker():
            self._close_models()
        super().destroy_node()

    def _models_closed_after_late_worker(self) -> bool:
        """Whether a processing thread still runs a set past the stop's wait (a first
        TensorRT build, an overloaded board): then it closes the models itself when that set
        ends (_work), and this returns True; they were closed under it, and the set met a
        closed detector (a review: shutdown and destroy_node did, activate and cleanup
        wait)."""
        with self._close_lock:          # (the thread may be past its own look at the flag)
            late = self._late_worker
            if late is None or not late.is_alive() or self._late_worker_done:
                return False
            self._close_models_after_set = True
        self.get_logger().info("the models are closed when the frame set still being "
                               "processed ends")
        return True

    def _stop(self) -> None:
        if self._clock_jump_handle is not None:
            self._clock_jump_handle.unregister()
            self._clock_jump_handle = None
        self._stop_worker.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=WORKER_STOP_WAIT_S)
            if self._worker.is_alive() and self._shutting_down():
                # Ctrl-C or SIGTERM: the process ends; nothing waits for that set (a review:
                # an ERROR telling activate and cleanup to wait, at a stop during a long set)
                self.get_logger().info(
                    f"stopping with a frame set still being processed after "
                    f"{WORKER_STOP_WAIT_S:g} s; its output is not published")
                with self._close_lock:
                    self._late_worker, self._late_worker_done = self._worker, False
            elif self._worker.is_alive():
                self.get_logger().error(
                    f"the processing thread did not stop within {WORKER_STOP_WAIT_S:g} s (a "
                    "frame set still being processed); it ends after that set, whose "
                    "output an inactive node does not publish; activate and cleanup wait "
                    "for it")
                with self._close_lock:
                    self._late_worker, self._late_worker_done = self._worker, False
            self._worker = None
        for timer in self._owned_timers:      # first: a timer may add subscriptions
            self.destroy_timer(timer)
        for sub in self._owned_subscriptions:
            self.destroy_subscription(sub)
        self._owned_subscriptions, self._owned_timers = [], []
        self._input_subscriptions = {}
        with self._lock:                      # sets of before the stop are not published
            if self.sync is not None:
                self.sync.discard_pending("deactivated")

    def _publisher(self, msg_type: Any, topic: str, qos: QoSProfile,
                   overridable: bool = True) -> Any:
        """A lifecycle publisher (silent while inactive) that cleanup() releases; its QoS
        overridable with qos_overrides parameters unless told otherwise (the output topics'
        are; /diagnostics', /tf's and /tf_static's are the conventions' own)."""
        publisher = self.create_lifecycle_publisher(
            msg_type, topic, qos, qos_overriding_options=self.qos_overriding(topic, "publisher")
            if overridable else None)
        self._owned_publishers.append(publisher)
        return publisher

    def qos_overriding(self, topic: str, kind: Literal["subscription", "publisher"]
                       ) -> QoSOverridingOptions | None:
        """The QoSOverridingOptions for a subscription or publisher on `topic` (relative or
        absolute) when a start-up `qos_overrides.<topic>.<kind>.*` parameter names it, else
        None; the topic is remembered as overridable (named when an override is unused).
        rclpy declares each policy's parameter read-only, once, with the first QoS made as its
        default, and takes that value at every later configure: a node reconfigured with
        another image_qos or qos_depth kept its first QoS without a word (a review, session
        64). So only the policies named are declared; the others, and a topic no override
        names, follow the configuration every time."""
        name = f"{QOS_OVERRIDES_PREFIX}{self.resolve_topic_name(topic)}.{kind}"
        self._qos_overridable.add(name)
        named = {key[len(name) + 1:] for key in getattr(self, "_parameter_overrides", {})
                 if key.startswith(f"{name}.")}
        kinds = [policy for policy in QOS_OVERRIDES.policy_kinds
                 if policy.name.lower() in named]
        return QoSOverridingOptions(kinds) if kinds else None

    def _release(self, close_models: bool = True) -> None:
        """Give back what configure made: publishers, models (unless close_models is False:
        a late processing thread closes them, _models_closed_after_late_worker), buffered
        frames; then return the freed heap to the system (glibc keeps freed arenas
        otherwise)."""
        for pub in self._owned_publishers:
            self.destroy_lifecycle_publisher(pub)
        self._owned_publishers = []
        if close_models:
            self._close_models()
        self._worker_diagnostics = {}
        with self._lock:
            self.sync = None
        gc.collect()
        release_free_memory()

    # -- hooks for the concrete nodes ----------------------------------------------------------
    def _configure(self, config: Any) -> None:
        raise NotImplementedError

    def _create_detectors(self, config: Any, count: int, per_camera: bool) -> Any:
        """The configured back-end for `count` cameras (core.pipeline.create_detectors).
        Execution providers that do not start here are told once, by
        _tell_detector_runtime's WARN: the back-end's own ProviderUnusableWarning is
        silenced (the same news twice, once on stderr outside the node's log), in this
        thread only (a warnings filter is the whole process's: configures in several threads
        left one installed)."""
        with provider_warnings_silenced():
            return create_detectors(config.detector, count, per_camera=per_camera,
                                    **detector_options(config))

    def _tell_detector_runtime(self, detectors: Any, config: Any) -> None:
        """Log (INFO) where the 2D network runs and show it on /diagnostics
        (detector_runtime); WARN when detector_providers asks for what does not run (found by
        an audit: blazepose_onnx fell back to the CPU without a word, and a GPU could not be
        chosen at all)."""
        detector = detectors[0] if isinstance(detectors, list) else detectors
        runtime = getattr(detector, "runtime", "") or "an unnamed runtime"
        self._configured_values["detector_runtime"] = runtime
        self.get_logger().info(f"detector {config.detector!r} runs on {runtime}")
        if problem := providers_problem(config.detector, config.detector_providers, runtime):
            self.get_logger().warning(problem)

    def _after_configure(self) -> None:
        """Set-up that needs self.health (after _configure)."""

    def _after_activate(self) -> None:
        """Publish what goes out once per activation (publishers are enabled now)."""

    def _subscribe(self) -> None:
        raise NotImplementedError

    def _between_sets(self, frame_set: FrameSet | None) -> None:
        """Called by the processing thread before each set (frame_set) and while it waits for
        one (None): apply handed-over changes."""

    def _process(self, frame_set: FrameSet) -> None:
        raise NotImplementedError

    def _close_models(self) -> None:
        """Release detectors and other models."""

    # -- input ---------------------------------------------------------------------------------
    def reject(self, camera: str, reason: str, message: str, level: str = "",
               kept: bool = False, detail: str = "") -> bool:
        """Count a bad input; log it the first time this camera shows this reason at this
        level, and again at most once a minute while it goes on (with the count since the last
        line: NodeHealth.reject): DEBUG for expected start-up conditions, ERROR for processing
        failures, else WARN. kept: a notice about an input used after all; detail: what was
        refused, told anew when it changes (NodeHealth.reject). Whether it was logged."""
        level = level or ("debug" if reason in START_UP_REASONS else "warn")
        told = None if self.health is None else self.health.reject(camera, reason, message,
                                                                    kept, level, detail=detail)
        if not told:
            return False
        said = ("counted on /diagnostics; logged again at most once a minute while it goes on"
                if told.first else
                f"again: {told.count} since the last line about it, counted on /diagnostics")
        text = f"rejected input [{reason}] {message} ({said})"
        # One call per severity: rclpy refuses a second severity from the same call site.
        if level == "debug":
            self.get_logger().debug(text)
        elif level == "info":
            self.get_logger().info(text)
        elif level == "error":
            self.get_logger().error(text)
        else:
            self.get_logger().warning(text)
        return True

    def reject_while_starting(self, camera: str, reason: str, message: str) -> None:
        """reject() for what a starting system shows for a moment (a camera's transform that
        comes after its first camera_info): at INFO within CAMERA_INFO_WAIT_S of activation,
        and once at WARN if it is still seen after (found by a review: a WARN at every start
        where /tf_static came a few milliseconds after camera_info)."""
        if time.monotonic() - self._activated_at < CAMERA_INFO_WAIT_S:
            self.reject(camera, reason, message, level="info")
        else:       # once at WARN (reject() tells each level once)
            self.reject(camera, reason, f"{message} (still, {CAMERA_INFO_WAIT_S:g} s after "
                        "activation)")

    def offer(self, camera: str, stamp: float, payload: Any) -> None:
        """Give one frame to the synchroniser (bad stamps are rejected and reported)."""
        now = time.monotonic()
        clock = ns_to_seconds(self.get_clock().now().nanoseconds)   # 0 until simulated time starts
        if stamp == 0.0:     # (a review: one taken as a replay loop restarted everything)
            self.reject(camera, "stamp_zero", f"camera {camera!r}: header.stamp is 0, a stamp "
                        "the driver did not set (frame ignored; stamp images with their "
                        "capture time)")
            return
        if stamp < 0.0:      # (a review: processed, then its output failed to publish)
            self.reject(camera, "stamp_negative", f"camera {camera!r}: header.stamp is "
                        f"{stamp:.3f} s, before 1970, a time no ROS message can carry out "
                        "(frame ignored; is the driver's clock set?)")
            return
        if self._of_abandoned_pass(stamp, clock, now):
            self.reject(camera, "before_clock_jump", f"camera {camera!r}: stamp {stamp:.3f} s "
                        "is of the pass before this node's clock went back (a frame still on "
                        "its way when the replay looped: ignored)", kept=True, level="info")
            return
        if clock > 0 and stamp > clock + FUTURE_TOLERANCE_S:
            self.reject(camera, "stamp_future", f"camera {camera!r}: stamp {stamp:.3f} s is "
                        f"{stamp - clock:.3f} s ahead of this node's clock (frame ignored)")
            return
        with self._lock:
            if self.sync is None:
                return
            state = self.sync.state[camera]
            last, last_received = state.last_stamp, state.last_received
            reason = self.sync.add(camera, stamp, payload, now)
            resets, silent_after_s = self.sync.time_resets, self.sync.silent_after_s(camera)
        clock_before, self._clock_at_frame[camera] = self._clock_at_frame.get(camera), clock
        if reason == "late":      # (a review: "after nan s", the camera's own last stamp)
            self.reject(camera, reason, f"camera {camera!r}: stamp {stamp:.6f} s came after "
                        "its instant's frame set was processed or given up (late)")
        elif reason in BAD_STAMP_REASONS:
            self.reject(camera, reason, f"camera {camera!r}: stamp {stamp:.6f} s after "
                        f"{last if last is not None else float('nan'):.6f} s ({reason})")
        elif reason is None and last is not None and stamp - last > silent_after_s:
            # Expected after a pause of the stream (a replay starting, a paused bag), or when
            # the node's own clock jumped with the stamps (a replay under use_sim_time seeking
            # forward: a review saw a WARN per camera)
            paused = last_received is not None and now - last_received > 0.5 * (stamp - last)
            seeked = not paused and clock_before is not None and clock > 0 and \
                clock - clock_before > 0.5 * (stamp - last)
            expected = paused or seeked
            self.reject(camera, "stamp_jump", f"camera {camera!r}: stamp jumped forward by "
                        f"{stamp - last:.3f} s (frame kept" + ("; this node's clock jumped "
                        "with it)" if seeked else ")"), level="info" if expected else "",
                        kept=expected)    # expected: the status stays as it is
        if resets > self._time_resets_logged:
            self._time_resets_logged = resets
            self._stamps_restarted = (stamp, now)
            self.get_logger().info(f"camera {camera!r}: stamps went back to {stamp:.3f} s "
                                   "(replay loop or clock reset): synchroniser restarted")
        self._wake.set()

    def _of_abandoned_pass(self, stamp: float, clock: float, now: float) -> bool:
        """Whether a frame stamped `stamp` (s) belongs to the pass the node's clock left when
        it last went back, OLD_PASS_GRACE_S ago or less (now: monotonic s): more than half
        the jump ahead of the clock, and not past where the clock was. (A review: such frames
        were told as clock faults, a WARN per camera at every loop of a distributed rig, or
        went into the new pass and cost its first set.)"""
        if self._clock_jumped_back is None:
            return False
        before, after, when = self._clock_jumped_back
        return now - when <= OLD_PASS_GRACE_S and \
            clock + 0.5 * (before - after) < stamp <= before + FUTURE_TOLERANCE_S

    def _on_clock_jump(self, jump: TimeJump) -> None:
        """The node's clock went back (simulated time: a replay looped, a simulator reset):
        the synchroniser starts over, as it does when the stamps themselves go back; frames
        of the pass left behind that are still on their way are ignored a while
        (_of_abandoned_pass)."""
        after, now = ns_to_seconds(self.get_clock().now().nanoseconds), time.monotonic()
        delta = ns_to_seconds(jump.delta.nanoseconds)
        self._clock_jumped_back = (after - delta, after, now)
        if self._stamps_restarted is not None and \
                now - self._stamps_restarted[1] <= OLD_PASS_GRACE_S and \
                self._stamps_restarted[0] <= after + FUTURE_TOLERANCE_S:
            # the new pass's frames came first and restarted it already: a second restart
            # would drop their open sets (a review: one set lost at such loops)
            self.get_logger().info(f"clock went back by {-delta:.3f} "
                                   "s; the frames of the new pass had restarted the "
                                   "synchroniser already")
            return
        with self._lock:
            if self.sync is None:
                return
            self.sync.restart()
            self._time_resets_logged = self.sync.time_resets
        self.get_logger().info(f"clock went back by {-delta:.3f} s "
                               "(replay loop or simulator reset): synchroniser restarted")
        self._wake.set()

    def _answer_failed_set(self, frame_set: FrameSet) -> None:
        """Nodes whose every input set gets an output message publish an empty one here."""

    def _open_input_gate(self) -> None:
        """Let the executor take images again, and wake it: it may be waiting without them.
        The synchroniser is told: the images held in DDS meanwhile were not late."""
        try:
            with self._lock:
                if self.sync is not None:
                    self.sync.input_resumed(time.monotonic())
        finally:         # open whatever happened: a gate left closed takes no image again
            self.input_gate.is_open = True
            try:
                self._gate_opened.trigger()
            except InvalidHandle:       # the node is being destroyed: no executor to wake
                pass

    def _subscribe_images(self, camera: str, callback: Callable[[str, Any], None],
                          prefix: str | None = None) -> None:
        """Subscribe one camera's images (node_input.image_subscription) in the input gate's
        callback group, with QoS image_qos at depth 1 when the images are gated (the frame
        taken when processing ends is then the newest), else qos_depth."""
        depth = 1 if self._gates_images else self.config.qos_depth
        subscription = image_subscription(
            self, camera, self.config, image_qos(self.config.image_qos, depth), callback,
            prefix=prefix, callback_group=self.input_gate)
        self._owned_subscriptions.append(subscription)
        self._input_subscriptions[camera] = subscription

    def note_arrival(self, camera: str, kind: Literal["image", "info"]) -> None:
        """Count an image or a camera_info of `camera` for images_lost (executor thread). A
        camera_info counts only while images are being taken: while the gate holds them in
        DDS, fewer images than camera_infos reach the node by design."""
        if self.health is None or (kind == "info" and not self.input_gate.is_open):
            return
        self.health.note_arrival(camera, kind, time.monotonic())

    @property
    def _gates_images(self) -> bool:
        """Whether images are left in DDS while a set is processed (skip_images_while_busy)."""
        return bool(getattr(self.config, "skip_images_while_busy", False))

    def _work(self, stop: threading.Event) -> None:
        """The processing thread: event-driven, it sleeps until a frame is offered or the
        oldest open set times out; ends when `stop` is set. An error anywhere in it (the
        synchroniser, the changes applied between sets, a failed set's answer, the trackers'
        counters) is counted and logged at ERROR as a failed set is (reject: once, then at most
        once a minute) and on /diagnostics, and the thread goes on; should it end all the same,
        the log and /diagnostics say so (_worker_ended). (A review: an error outside the
        processing of a set ended the thread silently; the node stayed active and published
        nothing.)"""
        trimmed = time.monotonic()
        try:
            while not stop.is_set():
                doing = "in the synchroniser (the frame sets wait)"
                try:
                    if time.monotonic() - trimmed >= MEMORY_TRIM_PERIOD_S:
                        release_free_memory()
                        trimmed = time.monotonic()
                    with self._lock:
                        if self.sync is None:
                            break
                        self.sync.poll(time.monotonic())
                        frame_set = self.sync.pop_latest()
                        deadline = self.sync.next_deadline()
                    if frame_set is not None:
                        doing = (f"applying the changes before the set at {frame_set.stamp:.6f}"
                                 " s (calibration, camera poses; the set is processed with the "
                                 "ones in force)")
                        try:
                            self._between_sets(frame_set)
                        except Exception as err:  # noqa: BLE001 - told below; the set goes on
                            if not self._worker_failed(stop, doing, err):
                                break
                        doing = f"with the set at {frame_set.stamp:.6f} s"
                        if not self._process_set(frame_set):
                            break
                        continue
                    doing = "applying the changes between sets (calibration, output frame)"
                    self._between_sets(None)
                    timeout = IDLE_WAKE_S if deadline is None else \
                        min(max(deadline - time.monotonic(), 0.0), IDLE_WAKE_S)
                    self._wake.wait(timeout)
                    self._wake.clear()
                except Exception as err:  # noqa: BLE001 - the thread must not end (docstring)
                    if not self._worker_failed(stop, doing, err):
                        break
                    stop.wait(WORKER_ERROR_PAUSE_S)     # an error that repeats: not a spin
        except BaseException as err:
            if not stop.is_set():
                self._worker_ended = f"{type(err).__name__}: {err}"
            raise
        finally:
            with self._close_lock:
                if threading.current_thread() is self._late_worker:
                    self._late_worker_done = True
                close = stop.is_set() and self._close_models_after_set
                self._close_models_after_set = False
            if close:                   # shutdown or destroy_node left the models to it
                self._close_models()
            # (a stop, Ctrl-C and a release, sync None, end it as asked)
            if not (stop.is_set() or self._worker_ended or self._shutting_down()
                    or self.sync is None):
                self._worker_ended = "it stopped without being asked to"
            if self._worker_ended and not stop.is_set():
                self.get_logger().error(
                    f"the processing thread has ended ({self._worker_ended}): nothing is "
                    "processed or published until the node is deactivated and activated "
                    "again")

    def _process_set(self, frame_set: FrameSet) -> bool:
        """Process one set and publish its output, or its empty answer when that fails
        (reported); open the input gate after it and take the trackers' counters. False when
        the node's context has gone meanwhile (Ctrl-C): the thread ends."""
        self.input_gate.is_open = not self._gates_images
        try:
            self._process(frame_set)
        except Exception as err:  # noqa: BLE001 - a bad set must not kill the thread
            if self._shutting_down() or self._close_models_after_set:
                return False      # (the node shut down or went under this late set)
            self.reject("pipeline", type(err).__name__,
                        f"processing the set at {frame_set.stamp:.6f} s failed: {err}",
                        level="error")
            try:
                self._answer_failed_set(frame_set)
            except Exception as answer_err:  # noqa: BLE001 - told; the thread goes on
                if self._shutting_down():
                    return False
                # (the same fault, mostly: a stamp no ROS Time holds fails both)
                self.reject("pipeline", type(answer_err).__name__,
                            f"the set at {frame_set.stamp:.6f} s is not answered: its empty "
                            f"answer failed too: {answer_err}", level="error")
        finally:
            if not self.input_gate.is_open:
                self._open_input_gate()
        self._worker_diagnostics = self._extra_diagnostics()
        return True

    def _worker_failed(self, stop: threading.Event, doing: str, err: Exception) -> bool:
        """Tell an error of the processing thread outside a set's processing (`doing`: what
        it was doing and what that affects) at ERROR and on /diagnostics, as failed sets are;
        False when the thread is to end quietly instead (stopped, or Ctrl-C meanwhile)."""
        if stop.is_set() or self._shutting_down():
            return False
        self.reject("pipeline", type(err).__name__,
                    f"the processing thread failed {doing}: {err} (it goes on)", level="error")
        return True

    def _tell_configure_failed(self, reason: str) -> None:
        """One ERROR status on /diagnostics saying why configure failed, through a plain
        publisher (the node's lifecycle publishers are released, and silent while it is not
        active): a monitor saw nothing of a failed configure before (found by a review)."""
        from .diagnostics import configure_failed_report

        self._failure_pub.publish(configure_failed_report(
            self.get_clock().now().to_msg(), self.diagnostics_name, reason))

    def _shutting_down(self) -> bool:
        """Whether Ctrl-C or SIGTERM has shut the node's context down: rclpy's signal handler
        does so before the node is stopped, so a set in flight fails to publish ("publisher's
        context is invalid"); the worker then ends quietly (found by a review: an ERROR line
        and a thread traceback in about one stop in three). In a tool's process (run_cli),
        also once the signal reached the tool, before rclpy has shut the context down (a
        review: Ctrl-C while configure imported a compiled module came out as an ERROR
        'configure failed: ImportError: initialization failed')."""
        return not self.context.ok() or interrupted()

    # -- diagnostics ---------------------------------------------------------------------------
    def publish_diagnostics(self) -> None:
        """The diagnostics timer's callback. A fault in the report is logged (ERROR, at most
        once a minute) and the node keeps running: an exception out of a timer callback ends
        rclpy's spin, and with it the node."""
        try:
            self._publish_diagnostics()
        except Exception as err:  # noqa: BLE001 - a report's fault must not stop the node
            self.get_logger().error(f"the /diagnostics report failed: {type(err).__name__}: "
                                    f"{err}", throttle_duration_sec=60.0)

    def _publish_diagnostics(self) -> None:
        now = time.monotonic()
        with self._lock:
            if self.sync is None or self.health is None:
                return
            live = {c: self.sync.state[c] for c in self.sync.live_cameras(now)}
            fast = self._check_rates(live)
            self._check_clock_offsets(live, fast)
            self._check_unpublished_inputs(now)
            self._check_missing_camera_info(now)
            self._check_image_loss(now)
            arriving = self.sync.receiving(now) or self.health.images_arriving(
                now, max(map(self.sync.silent_after_s, self.sync.cameras)))  # refused too
            self._tell_output_stall(now, arriving)
            self._tell_stale_cameras(now)
            report = self.health.report(self.get_clock().now().to_msg(), now, self.sync,
                                        inputs_arriving=arriving,
                                        extra=self._worker_diagnostics,
                                        no_sim_clock=self._no_sim_clock(now),
                                        worker_ended=self._worker_ended)
        self.diagnostics_pub.publish(report)

    def _tell_stale_cameras(self, now: float) -> None:
        """Log a camera going stale (WARN: silent while the others go on, sets go on without
        it) and its return (INFO), once each: /diagnostics showed it, the log did not (found
        by a review: only its return was logged, as a rejected input)."""
        assert self.sync is not None and self.health is not None
        states = self.health.camera_states(now, self.sync)
        sending = sum(state == "ok" for state in states.values())
        quiet = [name for name, state in states.items() if state in ("stale", "paused")]
        # a rig whose cameras that sent have all stopped (a replay's end; one that never sent
        # or is refused does not count): one INFO line, as for one camera, not a camera "stale
        # while the other cameras go on" with none left (a review)
        rig_quiet = len(states) > 1 and not sending and bool(quiet)
        if len(states) > 1:
            was_quiet = self._camera_states_told.get(_ALL_CAMERAS) == "paused"
            if rig_quiet and not was_quiet:
                self.get_logger().info(
                    f"no camera has sent a frame for {self.sync.silent_after_s(quiet[0]):.1f} s "
                    "or more (the cameras stopped, or a replay paused)")
                self._camera_states_told[_ALL_CAMERAS] = "paused"
            elif sending and was_quiet:
                self.get_logger().info("frames again")
                self._camera_states_told[_ALL_CAMERAS] = "ok"
        for name, state in states.items():
            before = self._camera_states_told.get(name)
            if state == "stale" and rig_quiet:
                # told with the rig above; one warned stale before keeps that, so that its
                # return is told (a review), and one not yet warned is, if the others resume
                self._camera_states_told[name] = "stale" if before == "stale" else "paused"
                continue
            if state == "stale" and before != "stale":
                # confirmed one check later, still with another camera sending: at a replay's
                # end the camera whose last frame came a frame earlier was warned "stale while
                # the others go on" (a review's test)
                since = self._stale_since.setdefault(name, now)
                if now - since < STALE_CONFIRM_S:
                    continue
            if state != "stale":
                self._stale_since.pop(name, None)
            if state == "stale" and before != "stale":
                # (a rig left with fewer cameras than min_views makes no 3D at all: a review)
                then = "sets go on without it" if sending >= self.sync.min_views else (
                    f"{sending} camera{'s' if sending != 1 else ''} left, below sync.min_views "
                    f"{self.sync.min_views}: no 3D until it is back")
                method = str(getattr(self.config, "monocular_method", "none"))
                if sending == 1 >= self.sync.min_views and method != "none":
                    # (a review: a two-camera rig went on with one view's depth, unsaid)
                    then += (f"; with one camera left, its people are placed by {method} "
                             "from one view (depth far less sure than triangulated) until "
                             "it is back")
                self.get_logger().warning(
                    f"camera {name!r}: no frame for {self.sync.silent_after_s(name):.1f} s or "
                    f"more while the other cameras go on (stale): {then}")
            elif before == "stale" and state == "ok":
                self.get_logger().info(f"camera {name!r}: frames again, back in the sets")
            elif state == "paused" and before == "ok" and len(states) == 1:
                # one camera (a detector node, a one-camera node): its input stopping is
                # 'paused', not 'stale', and nothing said so in the log (a review)
                self.get_logger().info(
                    f"camera {name!r}: no frame for {self.sync.silent_after_s(name):.1f} s or "
                    "more (the camera stopped, or a replay paused)")
            elif before == "paused" and state == "ok" and len(states) == 1:
                self.get_logger().info(f"camera {name!r}: frames again")
            self._camera_states_told[name] = state

    def tell_first_output(self, people: int, what: str, cameras: Sequence[str]) -> None:
        """Log (INFO, once per activation) the first output holding people: the line that
        says the node works, and how long after activation (a review of the start-up: the
        log ended at 'active', whether skeletons ever came or not). what: '3D' or '2D'."""
        if self._first_output_told or people <= 0:
            return
        self._first_output_told = True
        self.get_logger().info(
            f"first {what} output with people: {people} from {list(cameras)}, "
            f"{time.monotonic() - self._activated_at:.1f} s after activation")

    def _tell_output_stall(self, now: float, arriving: bool) -> None:
        """Log images arriving STALL_LOG_AFTER_S without an output (WARN, with the inputs
        refused and the sets dropped so far, by reason) and its end (INFO: output again, or
        images stopped). Called with self._lock."""
        assert self.health is not None and self.sync is not None
        stalled = self.health.output_stalled_s(now, arriving)
        if stalled >= STALL_LOG_AFTER_S and self._stall_since is None and \
                now - self._last_stall_log >= STALL_LOG_PERIOD_S:
            self._stall_since, self._last_stall_log = now - stalled, now
            drops = self.health.dropped_sets + self.sync.set_drops
            dropped = ", ".join(f"{k} {v}" for k, v in drops.most_common()) or "none"
            refused = ", ".join(f"{camera} {reason} {count}"
                                for camera, health in self.health.camera_items()
                                for reason, count in health.rejected.most_common()) or "none"
            self.get_logger().warning(
                f"no output for {stalled:.0f} s while images arrive (so far, inputs refused: "
                f"{refused}; sets dropped: {dropped}; /diagnostics has each camera's state)")
        elif not stalled and self._stall_since is not None:
            self.get_logger().info(
                f"{'output again' if arriving else 'images stopped'}, after "
                f"{now - self._stall_since:.0f} s without output")
            self._stall_since = None

    def _no_sim_clock(self, now: float) -> bool:
        """use_sim_time is on and no /clock has come within SIM_CLOCK_WAIT_S of activation
        (logged once at WARN)."""
        if not (self.get_parameter("use_sim_time").value
                and self.get_clock().now().nanoseconds == 0
                and now - self._activated_at > SIM_CLOCK_WAIT_S):
            return False
        if not self._told_no_sim_clock:
            self._told_no_sim_clock = True
            self.get_logger().warning(
                f"use_sim_time is true and no /clock has come in {SIM_CLOCK_WAIT_S:g} s: this "
                "node's clock reads 0, so /diagnostics and /tf_static are stamped 0 and latency "
                "cannot be measured; the skeletons keep their images' stamps (play the bag "
                "with --clock, or set use_sim_time false)")
        return True

    def _extra_diagnostics(self) -> dict[str, str]:
        """Node-specific key/values for the pipeline status. Called by the worker thread after
        each set (the state it reads is the worker's); the diagnostics timer, on the executor
        thread, shows the last result (reading the trackers there raised IndexError when a
        set updated them meanwhile, which ended the node's spin: found by a review)."""
        return {}

    def _check_image_loss(self, now: float) -> None:
        """Report a camera whose camera_info keeps arriving while most of its images do not
        (counted by nodes that take both: NodeHealth.note_arrival)."""
        for camera in self.cameras:
            loss = self.health.image_loss(camera, now)
            if loss is None or (loss[1] == 0 and self._unpublished(camera)):
                continue                # nothing publishes them: no_publisher tells it
            info_hz, image_hz = loss
            hint = (self._best_effort_images_hint(camera) if image_hz == 0 else "") or \
                image_loss_hint(self.config.image_transport, self._image_reliability(camera))
            self.reject(camera, "images_lost",
                        f"camera {camera!r}: camera_info arrives at {info_hz:.1f} Hz but images "
                        f"at {image_hz:.1f} Hz: images are lost on the way or published "
                        f"elsewhere. {hint}; check image_topic and image_transport "
                        "(docs/nodes.md, large images)")

    def _image_reliability(self, camera: str) -> str:
        """'reliable' or 'sensor_data': the reliability the camera's image subscription really
        has (image_qos, or a qos_overrides parameter over it: a review found the advice
        following the parameter alone)."""
        from rclpy.qos import ReliabilityPolicy

        subscription = self._input_subscriptions.get(camera)
        mine = [] if subscription is None else [
            info.qos_profile for info in
            self.get_subscriptions_info_by_topic(subscription.topic_name)
            if info.node_name == self.get_name() and info.node_namespace == self.get_namespace()]
        if not mine:
            return str(getattr(self.config, "image_qos", "sensor_data"))
        return ("reliable" if mine[0].reliability == ReliabilityPolicy.RELIABLE
                else "sensor_data")

    def _best_effort_images_hint(self, camera: str) -> str:
        """The fix when this node's images are reliable and every publisher of the camera's
        image topic best effort (DDS pairs none of them: no image ever comes; a review found
        the node advising compressed images instead), else ""."""
        from rclpy.qos import ReliabilityPolicy

        subscription = self._input_subscriptions.get(camera)
        if subscription is None or self._image_reliability(camera) != "reliable":
            return ""
        publishers = self.get_publishers_info_by_topic(subscription.topic_name)
        if not publishers or any(p.qos_profile.reliability == ReliabilityPolicy.RELIABLE
                                 for p in publishers):
            return ""
        return (f"every publisher of {subscription.topic_name} is best effort, which this "
                "node's reliable image subscription does not receive: set image_qos "
                "'sensor_data'")

    def _check_clock_offsets(self, live: dict, fast: set[str]) -> None:
        """Report a live camera whose frames stamp on another clock than the others' and so
        join no frame set (found by audits: a camera 80 ms off, and one 0.5 s ahead, were
        left out of the 3D while their status read ok); `fast` cameras are told as
        rate_mismatch instead."""
        timeout_s = self.sync.timeout_s
        if len(live) == 2:
            first, second = sorted(live)
            self._check_pair_clock(first, second, live)
            return
        dropped = self.sync.cameras_on_another_clock()
        for camera, offset in dropped.items():
            if camera in live:
                self.reject(camera, "clock_offset",
                            f"camera {camera!r} stamps its frames {offset:+.3f} s from the other "
                            f"cameras' (told by their arrival), beyond sync.timeout_s "
                            f"{timeout_s:g} s: its frames can meet no other camera's and are "
                            "left out of the 3D. Synchronise the cameras' computers' clocks "
                            "(chrony, PTP); if they are, its frames and the others' come that "
                            "far apart on the way: raise sync.timeout_s")
        for camera, offset in cameras_off_the_others(live, self.sync.slop_s).items():
            if camera in fast or camera in dropped:
                continue
            self.reject(camera, "clock_offset",
                        f"camera {camera!r} stamps its frames {1000 * offset:+.0f} ms from the "
                        f"other cameras' nearest (median of its recent frames; a clock off by "
                        f"more than half a frame period reads as the rest), beyond sync.slop_s "
                        f"{1000 * self.sync.slop_s:g} ms, so they join no set: synchronise the "
                        "cameras (their computers' clocks: chrony, PTP; or trigger them) or "
                        "raise sync.slop_s")

    def _check_pair_clock(self, first: str, second: str, live: dict) -> None:
        """Two live cameras whose frames cannot meet: told once, on the pipeline, naming
        both, since with two cameras which clock is off cannot be told (a review: a two-camera
        rig with one computer's clock 1-3 s off published no 3D while the node blamed the
        camera in step, or nobody)."""
        apart = self.sync.pair_stamp_difference(first, second)
        if apart is not None and abs(apart) > self.sync.timeout_s:
            what = f"{apart:+.3f} s"
        else:
            off = cameras_off_the_others(live, self.sync.slop_s)
            if not off:
                return
            apart = next(iter(off.values())) * (1 if first in off else -1)
            what = f"{1000 * apart:+.0f} ms (median of their nearest frames)"
        self.reject("pipeline", "clock_offset",
                    f"cameras {first!r} and {second!r}: {second!r} stamps its frames {what} "
                    f"from the frames of {first!r}, beyond sync.slop_s "
                    f"{1000 * self.sync.slop_s:g} ms, so "
                    "their frames form no set and no 3D comes; with two cameras which clock is "
                    "off cannot be told: synchronise the cameras' computers' clocks (chrony, "
                    "PTP) or trigger the cameras; if they are, raise sync.slop_s")

    def _unpublished(self, camera: str) -> str:
        """The resolved input topic of `camera` when nothing publishes it, else ''."""
        subscription = self._input_subscriptions.get(camera)
        if subscription is None or self.count_publishers(subscription.topic_name):
            return ""
        return subscription.topic_name

    def _check_unpublished_inputs(self, now: float) -> None:
        """Report, once at WARN, a camera from which nothing has come CAMERA_INFO_WAIT_S after
        activation while nothing publishes its input topic, with what does publish (a
        review: a fusion node given camera_names unlike its detectors' namespaces, or a
        node on the other image_transport than its camera's, sat at 'waiting for the first
        frame' with nothing logged, or called the images lost on the way)."""
        if now - self._activated_at < CAMERA_INFO_WAIT_S:
            return
        for camera in self._input_subscriptions:
            health = self.health.cameras.get(camera)
            if health is not None and health.first_image is not None:
                continue
            topic = self._unpublished(camera)
            if not topic or camera in self._told_no_publisher:
                # once per activation: a state, not a rejected input counted every second
                # (a review: rejected_no_publisher climbed 3, 6, 9, ... with no input)
                continue
            self._told_no_publisher.add(camera)
            kind = self._input_subscriptions[camera].msg_type
            kind_name = f"{kind.__module__.split('.')[0]}/msg/{kind.__name__}"
            other = topic.removesuffix("/compressed") if topic.endswith("/compressed") \
                else f"{topic}/compressed"
            if other != topic and self.count_publishers(other):
                hint = (f"{other} has a publisher: set image_transport "
                        f"{'raw' if topic.endswith('/compressed') else 'compressed'!r}")
            else:
                alike = sorted(name for name, types in self.get_topic_names_and_types()
                               if kind_name in types and self.count_publishers(name))
                hint = (f"{kind_name} topics published here: {alike[:8]}" if alike else
                        f"no {kind_name} topic is published here")
                hint += "; check camera_names, the topic parameters and namespaces"
            self.reject(camera, "no_publisher", f"camera {camera!r}: nothing publishes {topic} "
                        f"({CAMERA_INFO_WAIT_S:g} s after activation); {hint}")

    def _check_missing_camera_info(self, now: float) -> None:
        """Report, at WARN, a camera whose images keep arriving while no valid camera_info
        has come CAMERA_INFO_WAIT_S after activation and after its first image (the INFO line
        of the first image is the expected start-up case; found by an audit: a camera_info
        that never came was told by that INFO line alone)."""
        if now - self._activated_at < CAMERA_INFO_WAIT_S:
            return
        for camera, health in self.health.camera_items():
            # from its first image, too: a camera started after the node had its first image
            # a few ms before its camera_info (found by a review: a WARN at such starts)
            if camera in self.cameras and not health.calibrated and \
                    not self._has_camera_info(camera) and \
                    health.first_image is not None and \
                    now - health.first_image >= CAMERA_INFO_WAIT_S and \
                    health.image_within(now, CAMERA_INFO_WAIT_S):
                # camera_info that comes but is refused (all-zero K, NaN): said so, not
                # "publish it" (found by a ros2 launch check: a webcam's all-zero K was then
                # told, and kept on /diagnostics, as a camera_info to publish or latch)
                refused = sorted(reason for reason in list(health.rejected)
                                 if reason.startswith("camera_info_")
                                 and reason != "camera_info_missing")
                advice = (f"its camera_info came but was refused ({', '.join(refused)})"
                          + "".join(self._calibration_hint(reason) for reason in refused)
                          if refused else
                          "publish it with every image, or once latched (durability "
                          "transient local, reliability reliable)")
                self.reject(camera, "camera_info_missing",
                            f"camera {camera!r}: images arrive but no valid camera_info in "
                            f"{CAMERA_INFO_WAIT_S:g} s: {advice}")

    def _has_camera_info(self, camera: str) -> bool:
        """Whether a valid camera_info of `camera` came (one still waiting for its pose, e.g.,
        is told as that, not as missing); nodes that take camera_info say."""
        return False

    def _calibration_hint(self, reason: str) -> str:
        """What would take a camera_info refused for `reason` ("; ..."), "" if nothing does;
        nodes that take camera_info say."""
        return ""

    def _check_rates(self, live: dict) -> set[str]:
        """Report a live camera whose capture rate (from its stamps; neither frames lost on
        the way nor a few stamps close together count) is far above the others'; returns
        those cameras."""
        fast = cameras_far_above(live, RATE_MISMATCH_FACTOR)
        for camera, (rate, others) in fast.items():
            self.reject(camera, "rate_mismatch",
                        f"camera {camera!r} runs at {rate:.1f} Hz, more than "
                        f"{RATE_MISMATCH_FACTOR:g}x the others' {others:.1f} Hz (extra frames "
                        f"are dropped)")
        return set(fast)

    def _make_sync(self, sync_config: Any | None, cameras: tuple[str, ...]
                   ) -> FrameSynchronizer:
        """The synchroniser from the `sync.*` parameters (None: the core's defaults)."""
        if sync_config is None:
            return FrameSynchronizer(cameras)
        return FrameSynchronizer(cameras, SyncParams(
            slop_s=sync_config.slop_s, min_views=sync_config.min_views,
            timeout_s=sync_config.timeout_s, stale_after_s=sync_config.stale_after_s,
            queue_size=sync_config.queue_size, give_up_late=sync_config.give_up_late,
            complete_after_resume=sync_config.complete_after_resume))


_M_TRIM_THRESHOLD = -1            # mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
LARGE_BUFFER_BYTES = 1 << 20      # "map": allocations from this size up get pages of their own
KEPT_BUFFER_BYTES = 256 << 20     # "keep": heap up to this size per allocation, never trimmed
ALLOCATOR_POLICIES = ("keep", "map")


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """glibc, opened once (None where the C library is another)."""
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def set_allocator_policy(policy: str = "keep") -> None:
    """How glibc serves the node's large buffers (image messages: 6 MB per 1080p frame), for
    the whole process (a no-op without glibc).

    "keep" (the nodes' choice): from the heap, freed pages kept for the next image (no mmap
    below KEPT_BUFFER_BYTES, no automatic trimming: the processing thread returns the free
    pages with malloc_trim every MEMORY_TRIM_PERIOD_S, and cleanup does) and at most two
    arenas, so buffers freed by one thread serve the next allocation of another without
    fragmenting per-thread arenas. Every fresh page costs a
    page fault and the kernel's zeroing: on the 2-core VM, taking one 1080x1920 bgr8 Image
    from DDS cost the executor thread 12-22 ms of CPU with fresh pages and 5-8 ms with kept
    ones (benchmarks/bench_ingest.py, results_realtime.md): 4 cameras at 30 fps offer more
    than one core's worth of fresh-page ingest.
    "map": every allocation of LARGE_BUFFER_BYTES or more gets pages of its own, returned to
    the system when freed (the former setting: flat RSS over lifecycle cycles, but a page
    fault per 4 KiB of every image)."""
    if policy not in ALLOCATOR_POLICIES:
        raise ValueError(f"allocator policy must be one of {ALLOCATOR_POLICIES}, got {policy!r}")
    libc = _glibc()
    if libc is None or not hasattr(libc, "mallopt"):
        return
    if policy == "map":
        libc.mallopt(_M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES)
        libc.mallopt(_M_TRIM_THRESHOLD, 2 * LARGE_BUFFER_BYTES)
        libc.mallopt(_M_ARENA_MAX, 8 * (os.cpu_count() or 1))   # glibc's default
    else:
        libc.mallopt(_M_MMAP_THRESHOLD, KEPT_BUFFER_BYTES)
        libc.mallopt(_M_TRIM_THRESHOLD, 2 * KEPT_BUFFER_BYTES)
        libc.mallopt(_M_ARENA_MAX, 2)


def release_free_memory() -> None:
    """Ask glibc to return freed heap pages to the system (no-op without glibc)."""
    libc = _glibc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


class _MallInfo2(ctypes.Structure):
    """glibc's struct mallinfo2 (malloc.h, glibc 2.33+): byte counts over all arenas."""
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def heap_usage_bytes() -> tuple[int, int, int] | None:
    """glibc's account of this process's malloc memory, over all arenas, in bytes: (in use
    from the heaps, free but kept in the heaps, in use from mmap); None without glibc 2.33+.
    What RSS holds beyond these is code, stacks, Python's own pools and pages that other
    allocators (DDS, onnxruntime's arena) took directly."""
    libc = _glibc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return int(info.uordblks), int(info.fordblks), int(info.hblkhd)


def image_loss_hint(transport: str, qos: str) -> str:
    """What to try for a camera's lost images (images_lost), by the node's own image_transport
    and image_qos (a review: a node on compressed, reliable images was told to switch to
    compressed)."""
    if transport == "compressed":
        return ("this node takes compressed images: check that the camera's compressed "
                "topic carries every frame (its image_transport republisher, the link's "
                "bandwidth)")
    if qos == "reliable":
        return ("raw images with reliable QoS are delayed rather than lost when the link "
                "is full: use image_transport 'compressed', or start the camera driver "
                "with FASTRTPS_DEFAULT_PROFILES_FILE=<pose3d_ros share>/config/"
                "fastdds_large_images.xml")
    return ("raw images over Fast DDS's default transport are mostly lost with best-effort "
            "QoS: start the camera driver with FASTRTPS_DEFAULT_PROFILES_FILE=<pose3d_ros "
            "share>/config/fastdds_large_images.xml, or use image_transport 'compressed'")
