"""Where researchers already train: loggers (TensorBoard, W&B), a PyTorch Lightning callback
(``integrations.lightning``) and a Hugging Face Trainer callback (``integrations.hf``).

Each needs its optional extra (``pip install 'complexity_bench[lightning]'``, ``[hf]``,
``[loggers]``); importing a module whose package is missing is a UserError naming the extra.
docs/integrations.md describes them.
"""
