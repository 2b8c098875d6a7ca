"""Pseudo-labelling: the part experts label unlabeled images and videos for distillation.

* :mod:`~dope_core.pseudo_labels.sources` lists the items (image files, video frames);
* :mod:`~dope_core.pseudo_labels.cache` reads and writes one small JSON record per item;
* :mod:`~dope_core.pseudo_labels.runner` runs the experts over the items in worker processes.
"""
