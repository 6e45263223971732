"""Sliding windows for extractive question answering: a question over a context too long for one model row.

Each window is the model row `[CLS] question [SEP] context-window [SEP]` (segment ids 0 for
`[CLS] question [SEP]`, 1 for the rest) plus the mapping back to the context: which context token the window
starts at and the character span of every context token in it. Consecutive windows start `step` context
tokens apart (at most the window's size, so no context token is skipped); the last window is the first that
reaches the end of the context.

Both users build their windows here, with their own meaning of "doc_stride":

* training (`tf_albert.training.qa`, Google's `run_squad.py`): doc_stride is the step;
* the question-answering pipeline (HF's pipeline): doc_stride is the overlap, so step = room - doc_stride.

Only token ids and offsets come in (the callers tokenize), so this module imports no other tf_albert module.

Example:
>>> windows = qa_windows([7, 8], [20, 21, 22, 23, 24], [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)],
...                      max_length=8, step=2, cls_id=2, sep_id=3)
>>> [w.input_ids for w in windows]
[[2, 7, 8, 3, 20, 21, 22, 3], [2, 7, 8, 3, 22, 23, 24, 3]]
>>> windows[1].token_start, windows[1].context_start, windows[1].position_of(3)
(2, 4, 5)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class QAWindow:
    """One model row of a question over a window of its context.

    Attributes:
        input_ids: `[CLS] question [SEP] context tokens [SEP]`.
        token_type_ids: 0 up to and including the first `[SEP]`, 1 after.
        context_start: the row position of the window's first context token (`len(question) + 2`).
        token_start: the index of that token among the context's tokens.
        offsets: the (start, end) characters in the context of each context token of the window.
    """

    input_ids: list
    token_type_ids: list
    context_start: int
    token_start: int
    offsets: list

    def __len__(self) -> int:
        return len(self.input_ids)

    def position_of(self, token: int) -> int | None:
        """The row position of context token `token`, or None when the window does not hold it."""
        if self.token_start <= token < self.token_start + len(self.offsets):
            return token - self.token_start + self.context_start
        return None

    def row_offsets(self) -> list:
        """Per row position: the token's (start, end) characters in the context, None outside the context."""
        return [None] * self.context_start + list(self.offsets) + [None]


def context_room(max_length: int, question_length: int) -> int:
    """Context tokens per window: `max_length` less the question and `[CLS]`, `[SEP]`, `[SEP]`."""
    return max_length - question_length - 3


def window_starts(num_tokens: int, room: int, step: int) -> list[int]:
    """The first context token of each window of `room` tokens, `min(step, room)` apart, until one reaches
    the end (one window, starting at 0, when the context fits or is empty)."""
    if room < 1:
        raise ValueError(f"a window must hold at least one context token, got room for {room}")
    starts = [0]
    if num_tokens > room and step < 1:
        raise ValueError(
            f"{num_tokens} context tokens need several windows of {room}; step must be >= 1, got {step}"
        )
    step = min(step, room)
    while starts[-1] + room < num_tokens:
        starts.append(starts[-1] + step)
    return starts


def qa_windows(
    question_ids: Sequence[int],
    context_ids: Sequence[int],
    context_offsets: Sequence,
    *,
    max_length: int,
    step: int,
    cls_id: int,
    sep_id: int,
) -> list[QAWindow]:
    """The windows of one question (token ids, no special tokens) over one context (token ids and each
    token's (start, end) characters), each at most `max_length` tokens, starting `step` context tokens apart.

    Raises ValueError when the question leaves no room for context in `max_length`, or when the context needs
    more than one window and `step` < 1.
    """
    if len(context_ids) != len(context_offsets):
        raise ValueError(f"{len(context_ids)} context tokens but {len(context_offsets)} offsets")
    question_ids = list(question_ids)
    room = context_room(max_length, len(question_ids))
    head = [cls_id] + question_ids + [sep_id]
    offsets = [tuple(o) for o in context_offsets]
    windows = []
    for start in window_starts(len(context_ids), room, step):
        ids = list(context_ids[start : start + room])
        windows.append(
            QAWindow(
                input_ids=head + ids + [sep_id],
                token_type_ids=[0] * len(head) + [1] * (len(ids) + 1),
                context_start=len(head),
                token_start=start,
                offsets=offsets[start : start + room],
            )
        )
    return windows
