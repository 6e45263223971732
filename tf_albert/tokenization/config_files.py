"""The JSON files of tokenizer folders, read and written one way by every tokenizer.

Each tokenizer's ``from_pretrained`` starts the same way: find its own file in a folder (or take the file it
is given), then read the options HF saved beside it in ``tokenizer_config.json``; each ``save_pretrained``
ends by writing JSON files atomically. A file that is there but does not parse is an error that names the file
and quotes the parser (``ValueError``, as for the checkpoint files), never taken for a file that is missing.

Example:

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> config = {"model_max_length": 128, "unk_token": {"content": "<u>"}}
>>> path = write_json(folder, TOKENIZER_CONFIG_FILE, config)
>>> saved_options(read_config(folder), ["unk_token", "mask_token"])
{'unk_token': '<u>', 'model_max_length': 128}
>>> with open(path, "w") as f:
...     _ = f.write("{oops")
>>> read_config(folder)  # doctest: +ELLIPSIS
Traceback (most recent call last):
ValueError: ...tokenizer_config.json is not valid JSON (Expecting property name enclosed in ...)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from tf_albert.utils.fileio import write_file_atomically

TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
#: ``model_max_length`` at or above this is HF's "unset" (it saves ``int(1e30)``).
UNSET_MAX_LENGTH = 1e12


def folder_file(path: str | os.PathLike, name: str) -> str:
    """The file ``name`` in the folder ``path``, or ``path`` itself when it is a file.

    Args:
        path: A folder, or the file itself.
        name: The file's name in a folder (``"tokenizer.json"``, ``"vocab.txt"``, ...).

    Returns:
        The file's path.

    Raises:
        FileNotFoundError: There is no such file.
    """
    path = os.fspath(path)
    file = os.path.join(path, name) if os.path.isdir(path) else path
    if not os.path.isfile(file):
        raise FileNotFoundError(f"no {name} in {path!r}")
    return file


def read_json(path: str) -> dict[str, Any]:
    """The JSON object stored in ``path``.

    Args:
        path: A JSON file that holds an object.

    Returns:
        The object, as a dict.

    Raises:
        ValueError: The file is not valid UTF-8 JSON, or holds something other than an object; the message
            names the file and quotes the parser.
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is corrupt: it holds a JSON {type(data).__name__}, not an object")
    return data


def read_config(folder: str, name: str = TOKENIZER_CONFIG_FILE) -> dict[str, Any]:
    """The JSON object in ``folder/name``; ``{}`` when the folder has no such file.

    Args:
        folder: The tokenizer folder.
        name: The file's name.

    Returns:
        The saved options.

    Raises:
        ValueError: The file is there but corrupt (see :func:`read_json`).
    """
    file = os.path.join(folder, name)
    return read_json(file) if os.path.isfile(file) else {}


def token_content(token) -> str:
    """The text of a special token given as a str or as HF's serialised ``AddedToken`` dict.

    Args:
        token: A str, or a dict with a ``"content"`` entry.

    Returns:
        The token's text.

    Raises:
        TypeError: It is not a non-empty str.
    """
    if isinstance(token, dict):  # HF AddedToken serialisation
        token = token.get("content")
    if not isinstance(token, str) or not token:
        raise TypeError(f"special tokens must be non-empty strings, got {token!r}")
    return token


def saved_max_length(config: dict[str, Any]):
    """The saved ``model_max_length``, or ``None`` when it is absent or HF's "unset" value.

    Args:
        config: The options read from ``tokenizer_config.json``.

    Returns:
        The value as saved (the constructor checks it), or ``None``.
    """
    length = config.get("model_max_length")
    if isinstance(length, (int, float)) and length >= UNSET_MAX_LENGTH:
        return None
    return length


def saved_options(config: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The constructor options that ``config`` sets among ``keys``, plus ``model_max_length``.

    Args:
        config: The options read from ``tokenizer_config.json``.
        keys: The option names to take (special tokens among them are given as their text).

    Returns:
        The options that are set (not ``None`` nor ``""``).
    """
    options = {}
    for key in keys:
        value = config.get(key)
        if isinstance(value, dict):  # an AddedToken
            value = value.get("content")
        if value is not None and value != "":
            options[key] = value
    length = saved_max_length(config)
    if length is not None:
        options["model_max_length"] = length
    return options


def write_json(folder: str, name: str, content: dict[str, Any]) -> str:
    """Write ``content`` to ``folder/name`` atomically (sorted keys, indented, UTF-8).

    Args:
        folder: An existing folder.
        name: The file's name.
        content: What to write.

    Returns:
        The file's path.
    """
    text = json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return write_file_atomically(os.path.join(folder, name), text)
