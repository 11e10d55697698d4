"""ROS 2 layer over pose3d_ros.core: nodes, message conversions, TF, markers, diagnostics.

Modules:
  conversions   core.messages bound to rclpy's classes (RCLPY): Skeletons3D/Detections2D <->
                messages, CameraInfo <-> CameraModel, stamps (body frames: core.body_frame)
  visualization MarkerArray for rviz2
  tf            TFMessage for /tf (people) and /tf_static (the rig)
  diagnostics   diagnostic_msgs/DiagnosticArray from the nodes' counters
  parameters    parameter table with descriptors, ranges and validation; the frozen
                configuration dataclasses generated from it
  nodes         the executables' main()s; the nodes live in node_base (lifecycle,
                synchroniser, processing thread, health), rig_node (calibration, pipeline,
                3D outputs), pose3d_node / fusion_node / detector_node, node_input (QoS,
                image input)
  launch_args   launch-time checks of launch arguments (used by launch/*.launch.py)
  replay        bag replay publisher and skeleton collector (the demo and evaluation over DDS)
"""
