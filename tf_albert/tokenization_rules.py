"""Moved to :mod:`tf_albert.tokenization.rules`; this old path is an alias of it that warns once."""

from tf_albert.tokenization import rules as _new
from tf_albert.utils.moved import alias_old_module

alias_old_module(__name__, _new)
