"""Who spoke when: the diarization stage, its backends (pyannote pipelines; the offline pipeline of
segmentation-3.0 + CAM++) and the clustering that links local speakers into the recording's."""
