"""keras.distribution.DataParallel on JAX: two host devices train to the single-device result.

Run as a script (XLA_FLAGS must be set before JAX starts, so tests/backends/test_backends.py runs it in its
own process); prints one JSON line: the losses of both runs, the largest weight difference after training,
and the devices the weights and the batch were spread over.

    KERAS_BACKEND=jax python -m tests.backends.data_parallel_check
"""

import json
import os

os.environ["KERAS_BACKEND"] = "jax"
os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tests.helpers import own_loss_batch, tiny_config  # noqa: E402
from tf_albert import AlbertForSequenceClassification  # noqa: E402


def train(initial_weights, x, y, distribution=None):
    """(per-epoch losses, final weights, devices holding the first weight) of 3 epochs of 2 steps (no dropout:
    the two runs must be comparable number for number)."""
    keras.distribution.set_distribution(distribution)
    try:
        model = AlbertForSequenceClassification(tiny_config(num_labels=3, classifier_dropout_prob=0.0))
        model.build()
        model.set_weights(initial_weights)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=True)
        history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
        devices = len(model.trainable_variables[0].value.sharding.device_set)
        return history.history["loss"], [np.asarray(w) for w in model.get_weights()], devices
    finally:
        keras.distribution.set_distribution(None)


def main():
    cpus = keras.distribution.list_devices("cpu")
    assert len(cpus) == 2, cpus
    keras.utils.set_random_seed(0)
    reference = AlbertForSequenceClassification(tiny_config(num_labels=3, classifier_dropout_prob=0.0))
    reference.build()
    initial = reference.get_weights()
    x, y = own_loss_batch("AlbertForSequenceClassification", np.random.default_rng(0), n=16, length=6)
    single_losses, single_weights, single_devices = train(initial, x, y)
    parallel = keras.distribution.DataParallel(devices=cpus)
    batch_sharding = parallel.get_data_layout((8, 6)).backend_layout
    parallel_losses, parallel_weights, parallel_devices = train(initial, x, y, parallel)
    print(json.dumps({
        "single_losses": single_losses,
        "parallel_losses": parallel_losses,
        "max_weight_diff": max(float(np.abs(a - b).max()) for a, b in zip(single_weights, parallel_weights)),
        "weight_devices": [single_devices, parallel_devices],
        "batch_shards": len(batch_sharding.device_set),
    }))


if __name__ == "__main__":
    main()
