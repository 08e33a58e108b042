"""The domain core of feedwatch: prompt-guided perception over buffered camera frames.

Pure logic plus model adapters. Nothing here talks to Kafka, HTTP or SQL, and heavy
libraries (torch, open_clip, transformers) are imported only inside ``pipeline.models``
adapter modules, so ``import pipeline`` stays fast.
"""

__version__ = "0.1.0"
