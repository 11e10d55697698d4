"""ROS 2 layer over pose3d_ros.core: nodes, message conversions, TF, markers, diagnostics.

Modules:
  conversions   core.messages bound to rclpy's classes (RCLPY): Skeletons3D/Detections2D <->
                messages, CameraInfo <-> CameraModel, stamps (body frames: core.body_frame)
  visualization MarkerArray for rviz2
  tf            TFMessage for /tf (people) and /tf_static (the rig)
  diagnostics   diagnostic_msgs/DiagnosticArray from the nodes' counters
  parameters    parameter table with descriptors, ranges and validation
  nodes         all-in-one, detector and fusion lifecycle nodes and their main()s
  replay        bag replay publisher and skeleton collector (the demo and evaluation over DDS)
"""
