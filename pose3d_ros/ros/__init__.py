"""ROS 2 layer over pose3d_ros.core: nodes, message conversions, TF, markers, diagnostics.

Modules:
  conversions   Skeletons3D/Detections2D <-> messages, CameraInfo -> CameraModel, stamps
  body_frame    REP-155 body frames (pelvis origin, torso axes) from 3D joints
  visualization MarkerArray for rviz2
  tf            TFMessage for /tf (people) and /tf_static (the rig)
  diagnostics   diagnostic_msgs/DiagnosticArray from the nodes' counters
  parameters    parameter table with descriptors, ranges and validation
  nodes         all-in-one, detector and fusion lifecycle nodes and their main()s
  replay        bag replay publisher and skeleton collector (the demo and evaluation over DDS)
"""
