"""The frozen, pretrained part experts (body, hand, face) and their ensemble.

Each expert is a two-stage detector: an SSD-style detector (BlazePose person
detector, BlazePalm, BlazeFace) proposes rotated regions, and a landmark model
regresses 2D and 3D keypoints in each region. The models are the tflite files
that the ``mediapipe`` 0.10.x wheel ships (Apache-2.0), run directly by LiteRT;
all pre- and post-processing is written here, multi-person by design.
"""
