"""Model adapters, one module per model (torch/open_clip/transformers live only here).

Import the adapter module you need (``pipeline.models.clip_encoder``,
``pipeline.models.llava``); importing this package loads no heavy library.
"""
