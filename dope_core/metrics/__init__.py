"""Accuracy metrics (PCK, MPJPE, 3D AUC, NME), keypoint mappings and instance matching."""
