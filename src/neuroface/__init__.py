"""neuroface: video-based detection of neurological disease from facial landmarks.

A reproducible pipeline for Guarin et al., "Improving Face Alignment Accuracy on Clinical
Populations and its effect on the Video-based Detection of Neurological Diseases":
RealSense ``.bag`` recordings -> FAN landmarks -> 3D trajectories -> features -> random forests.
"""

__version__ = "0.1.0"
