"""Moved to :mod:`tf_albert.model.layers` (the building blocks) and :mod:`tf_albert.model.encoder`
(`AlbertEncoder`, `AlbertMainLayer`); this old path finds each name there, and warns once."""

from tf_albert.model import encoder as _encoder
from tf_albert.model import layers as _layers
from tf_albert.utils.moved import split_old_module

__getattr__ = split_old_module(__name__, _layers, _encoder)
