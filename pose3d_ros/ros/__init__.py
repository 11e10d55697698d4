"""ROS 2 side of pose3d_ros: rclpy nodes, message conversions, replay (imports rclpy)."""
