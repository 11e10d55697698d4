"""pose3d_ros: real-time 3D human skeletons for ROS 2.

Subpackages:
  core   pure numerical core (no ROS imports): layouts, cameras, triangulation, association,
         lifting, tracking, metrics, detection back-ends.
  ros    rclpy nodes and message conversions (needs a ROS 2 environment).
  tools  command-line programs built on the core (evaluation, training, calibration, demo).
  msg    generated message classes (present only after `colcon build`).
"""
__version__ = "0.1.0"

# When Python runs from the source tree, this directory shadows the colcon install space, which
# also holds the generated `msg` subpackage and its type-support libraries. Extending the package
# path joins every `pose3d_ros` directory on sys.path into one package, so `pose3d_ros.msg`
# imports from either place.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
