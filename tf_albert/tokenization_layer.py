"""Moved to :mod:`tf_albert.tokenization.layer`; this old path is an alias of it that warns once."""

from tf_albert.tokenization import layer as _new
from tf_albert.utils.moved import alias_old_module

alias_old_module(__name__, _new)
