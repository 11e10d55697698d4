"""Pure numerical core of pose3d_ros. Nothing under this package imports a ROS module."""
