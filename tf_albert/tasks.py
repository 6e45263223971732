"""The one task vocabulary: every name a user may give for what a model does, and what each maps to.

Three name spaces meet here, each defined once:

* the **model task** (`tf_albert.from_pretrained(..., task=...)`, `MODEL_CLASSES`): `"masked_lm"`, ...;
* the **pipeline task** (`tf_albert.pipeline(...)`, `tf-albert run --task`): HF's names, `"fill-mask"`, ...;
* the **training task** (`tf-albert finetune --task`, `training.datasets`): the kind of labelled data.

Class names are strings, so this module imports nothing: the model core, pipelines, training and the CLI
all read it. Example:

>>> from tf_albert import tasks
>>> tasks.MODEL_CLASS_NAMES["question_answering"]
'AlbertForQuestionAnswering'
>>> tasks.pipeline_task("ner")
'token-classification'
>>> tasks.TRAINING_MODEL_CLASS_NAMES["regression"]
'AlbertForSequenceClassification'
"""

from __future__ import annotations

#: model task → model class name (the class is registered with Keras as "tf_albert>{name}").
MODEL_CLASS_NAMES = {
    "model": "AlbertModel",
    "pretraining": "AlbertForPreTraining",
    "masked_lm": "AlbertForMaskedLM",
    "sequence_classification": "AlbertForSequenceClassification",
    "multiple_choice": "AlbertForMultipleChoice",
    "token_classification": "AlbertForTokenClassification",
    "question_answering": "AlbertForQuestionAnswering",
}

#: pipeline task (HF's names) → the model task whose class serves it.
PIPELINE_TASKS = {
    "fill-mask": "masked_lm",
    "text-classification": "sequence_classification",
    "token-classification": "token_classification",
    "question-answering": "question_answering",
    "feature-extraction": "model",
}
#: HF's other names for the same pipeline tasks.
PIPELINE_ALIASES = {"sentiment-analysis": "text-classification", "ner": "token-classification"}

#: model class name → the pipeline task a checkpoint of that class is for (pretraining heads fill masks).
PIPELINE_OF_CLASS = {
    **{MODEL_CLASS_NAMES[model_task]: name for name, model_task in PIPELINE_TASKS.items()},
    "AlbertForPreTraining": "fill-mask",
}

#: training task (the kind of labelled data) → model class name.
TRAINING_MODEL_CLASS_NAMES = {
    "classification": "AlbertForSequenceClassification",
    "regression": "AlbertForSequenceClassification",
    "multi_label": "AlbertForSequenceClassification",
    "token_classification": "AlbertForTokenClassification",
    "multiple_choice": "AlbertForMultipleChoice",
    "question_answering": "AlbertForQuestionAnswering",
}
TRAINING_TASKS = tuple(TRAINING_MODEL_CLASS_NAMES)


def _check_name(value, what: str, choices) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}: {value!r}")
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; available: {', '.join(choices)}")
    return value


def model_task(task: str) -> str:
    """`task` checked against the model tasks (a ValueError naming the choices otherwise)."""
    return _check_name(task, "model task", tuple(MODEL_CLASS_NAMES))


def pipeline_task(task: str) -> str:
    """The canonical pipeline task of `task`, aliases resolved (a ValueError naming the choices otherwise)."""
    if isinstance(task, str):
        task = PIPELINE_ALIASES.get(task, task)
    return _check_name(task, "task", tuple(PIPELINE_TASKS) + tuple(PIPELINE_ALIASES))


def training_task(task: str) -> str:
    """`task` checked against the training tasks (a ValueError naming the choices otherwise)."""
    return _check_name(task, "training task", TRAINING_TASKS)


def pipeline_of_architectures(architectures) -> str | None:
    """The pipeline task of the first known class in a config's `architectures` (HF's "TF" prefix ignored)."""
    for arch in architectures or ():
        task = PIPELINE_OF_CLASS.get(str(arch).removeprefix("TF"))
        if task:
            return task
    return None


def model_task_of(model_or_class) -> str | None:
    """The model task of an ALBERT model or model class (its own or its nearest ALBERT base class), else None.

    Lets the export and checkpoint modules ask "is this a question-answering model?" without importing the
    model classes (which import them)."""
    cls = model_or_class if isinstance(model_or_class, type) else type(model_or_class)
    task_of_name = {name: task for task, name in MODEL_CLASS_NAMES.items()}
    for base in cls.__mro__:
        if base.__name__ in task_of_name:
            return task_of_name[base.__name__]
    return None
