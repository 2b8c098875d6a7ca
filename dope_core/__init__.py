"""dope_core: DOPE whole-body 2D/3D pose estimation, usable without ROS.

Data flows one way: image -> part detections (experts or network) -> fusion into
people -> consumers (drawing, JSON, ROS messages). See :mod:`dope_core.structures`
for the data model and its units and frames.
"""

__version__ = "0.1.0"
