"""Training ALBERT: fine-tuning datasets, pretraining (SOP + n-gram masking + LAMB), distribution, resuming.

Fine-tuning in Python:

>>> from tf_albert.training import classification_dataset, create_optimizer  # doctest: +SKIP
>>> ds = classification_dataset(tokenizer, texts, labels, batch_size=32, shuffle=True)  # doctest: +SKIP
>>> model.compile(optimizer=create_optimizer("adamw", 2e-5, num_train_steps=3 * len(ds)))  # doctest: +SKIP
>>> model.fit(ds, epochs=3)  # doctest: +SKIP

Or in one call / command: `finetune(...)` / `tf-albert finetune`; pretraining: `pretrain(...)` /
`tf-albert pretrain`. Both run on TensorFlow, JAX and PyTorch: the datasets are numpy batches
(`tf_albert.training.batches`), fed by tf.data on TensorFlow and by a `keras.utils.PyDataset` elsewhere;
importing this package on JAX or PyTorch does not import TensorFlow.
"""

from tf_albert.training.batches import BatchDataset, Batches
from tf_albert.training.callbacks import (
    BackupAndRestore,
    TerminateOnNaN,
    TrainingDivergedError,
    fit_in_run_folder,
    fit_resumable,
)
from tf_albert.training.data_files import load_examples
from tf_albert.training.datasets import (
    TASKS,
    align_labels,
    classification_dataset,
    make_dataset,
    multiple_choice_dataset,
    token_classification_dataset,
)
from tf_albert.training.distribute import (
    get_strategy,
    global_batch_size,
    per_replica_batch_size,
    strategy_scope,
)
from tf_albert.training.finetune import evaluate_task, finetune, finetune_main
from tf_albert.training.metrics import MaskedAccuracy
from tf_albert.training.optimization import WarmupSchedule, create_optimizer, linear_warmup_decay
from tf_albert.training.pretrain import evaluate_pretraining, pretrain, pretrain_main, train_sentencepiece
from tf_albert.training.pretraining_batches import PretrainingBatches, PretrainingExamples
from tf_albert.training.pretraining_data import (
    Masker,
    PretrainingDataConfig,
    create_sop_pairs,
    pretraining_dataset,
    write_pretraining_data,
)
from tf_albert.training.qa import postprocess, prepare_features, question_answering_dataset, squad_metrics

__all__ = [
    "Batches",
    "BatchDataset",
    "PretrainingBatches",
    "PretrainingExamples",
    "BackupAndRestore",
    "TerminateOnNaN",
    "TrainingDivergedError",
    "fit_in_run_folder",
    "fit_resumable",
    "TASKS",
    "align_labels",
    "classification_dataset",
    "load_examples",
    "make_dataset",
    "multiple_choice_dataset",
    "token_classification_dataset",
    "question_answering_dataset",
    "prepare_features",
    "postprocess",
    "squad_metrics",
    "get_strategy",
    "global_batch_size",
    "per_replica_batch_size",
    "strategy_scope",
    "finetune",
    "finetune_main",
    "evaluate_task",
    "MaskedAccuracy",
    "WarmupSchedule",
    "create_optimizer",
    "linear_warmup_decay",
    "pretrain",
    "pretrain_main",
    "evaluate_pretraining",
    "train_sentencepiece",
    "Masker",
    "PretrainingDataConfig",
    "create_sop_pairs",
    "pretraining_dataset",
    "write_pretraining_data",
]
