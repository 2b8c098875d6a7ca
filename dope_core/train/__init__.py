"""Distillation training of the DOPE whole-body network from the part experts' pseudo-labels.

* :mod:`~dope_core.train.targets` turns a cached record into per-part target tensors
  (hard pseudo ground truth or soft distillation targets);
* :mod:`~dope_core.train.augment` flips and rescales an image with its targets;
* :mod:`~dope_core.train.dataset` is the torch ``Dataset`` and the resumable sampler;
* :mod:`~dope_core.train.config` reads and checks the YAML configuration;
* :mod:`~dope_core.train.checkpointing` writes and reads training state atomically;
* :mod:`~dope_core.train.agreement` measures the student's agreement with the experts;
* :mod:`~dope_core.train.validation` runs the student on held-out and annotated images;
* :mod:`~dope_core.train.report` puts validation reports side by side (Markdown);
* :mod:`~dope_core.train.trainer` runs the training loop (AMP, DDP, TensorBoard);
* :mod:`~dope_core.train.export` loads a run's student and writes the backend checkpoint;
* :mod:`~dope_core.train.cli` is the ``dope-train`` command.
"""
