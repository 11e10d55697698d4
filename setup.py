"""pip install of the pure core and the offline tools (no messages; those need colcon).

The package's metadata lives in setup.cfg; package.xml and CMakeLists.txt carry the same name and
version for colcon (test/test_package_consistency.py checks that they agree).
"""
from setuptools import setup

setup()
