"""Generate `tests/fixtures/formats/`: the checkpoint and tokenizer formats of issue 16, each written by its
own reference library, with the outputs / ids that library computes. One stage per reference environment:

    /work/venvs/hf5/bin/python tools/make_format_fixtures.py hf5
        transformers 5 + torch 2.13 + tokenizers:
        sop3/            AlbertForPreTraining with num_labels=3 (config.json + model.safetensors)
        tokenizer_json/  tokenizer.json(.gz) + tokenizer_config.json: v5's save of tests/fixtures/tokenizer
        wordpiece/       vocab.txt + tokenizer_config.json (a WordPiece vocabulary trained with `tokenizers`)
        hf5.npz          sop3 outputs;  tokenizers.json.gz  ids of HF's fast tokenizer / BertTokenizer
    /work/venvs/kerashub/bin/python tools/make_format_fixtures.py keras_hub
        keras-hub 0.32 (TensorFlow backend):
        keras_hub/       AlbertTextClassifier preset (backbone converted by KerasHub from
                         tests/fixtures/checkpoints/hf_safetensors, 2 groups x 2 inner blocks; a seeded head)
        keras_hub_mlm/   AlbertMaskedLM preset on the same backbone (task.json + task.weights.h5 only; the
                         test adds the backbone files of keras_hub/)
        keras_hub.npz    KerasHub's outputs; keras_hub_ids in tokenizers.json.gz
        and, with tf_albert importable (PYTHONPATH=.), KerasHub loading a preset that *we* wrote.
    /work/venvs/tfmodels/bin/python tools/make_format_fixtures.py tfmodels
        tf-models-official 2.20 (TF 2.20, tf-keras):
        tf2/             tf.train.Checkpoint(encoder=AlbertEncoder) + albert_config.json
        tf2_savedmodel/  the variables/ of tf.saved_model.save(encoder) + albert_config.json (saved_model.pb,
                         400 KB and not read by the loader, is left out)
        tf2.npz          the encoder's outputs

Each stage rewrites only its own files. `.h5` and `tokenizer.json` files are stored gzipped (mtime 0);
`tests/helpers.py: materialize_format` unpacks them. The KerasHub presets leave out
`assets/tokenizer/vocabulary.spm`, which is byte-identical to tests/fixtures/tokenizer/spiece.model (checked
here); the tests copy it in.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "formats")
CHECKPOINTS = os.path.join(ROOT, "tests", "fixtures", "checkpoints")
SPM = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "spiece.model")
SEED = 16
# the tiny config of tests/fixtures/checkpoints (2 groups x 2 inner blocks)
CONFIG = dict(
    vocab_size=64,
    embedding_size=8,
    hidden_size=16,
    num_attention_heads=2,
    intermediate_size=24,
    num_hidden_layers=4,
    num_hidden_groups=2,
    inner_group_num=2,
    max_position_embeddings=16,
    type_vocab_size=2,
    hidden_act="gelu_new",
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    layer_norm_eps=1e-12,
)


def corpus() -> dict:
    """The hard-string corpus of tests/fixtures/tokenizer (singles, long strings, pairs)."""
    with gzip.open(os.path.join(ROOT, "tests", "fixtures", "tokenizer", "expected.json.gz"), "rt") as f:
        data = json.load(f)
    return {"singles": data["corpus"] + data["long_corpus"], "pairs": [tuple(p) for p in data["pairs"]]}


def inputs() -> dict:
    data = np.load(os.path.join(CHECKPOINTS, "expected.npz"))
    return {k: data[f"in/{k}"] for k in ("input_ids", "attention_mask", "token_type_ids")}


def gzip_file(path: str) -> None:
    with open(path, "rb") as f, open(path + ".gz", "wb") as raw:
        with gzip.GzipFile(
            filename=os.path.basename(path), mode="wb", fileobj=raw, mtime=0, compresslevel=9
        ) as g:
            g.write(f.read())
    os.remove(path)


def replace_dir(tmp: str, name: str) -> None:
    target = os.path.join(OUT, name)
    for root, dirs, files in os.walk(tmp):
        os.chmod(root, 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)
    if os.path.exists(target):
        shutil.rmtree(target)
    shutil.move(tmp, target)


def save_npz(name: str, arrays: dict) -> None:
    np.savez(os.path.join(OUT, name), **{k: np.asarray(v, np.float32) for k, v in arrays.items()})
    os.chmod(os.path.join(OUT, name), 0o644)


def update_ids(key: str, value: dict) -> None:
    path = os.path.join(OUT, "tokenizers.json.gz")
    data = {}
    if os.path.isfile(path):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
    data[key] = value
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="tokenizers.json", mode="wb", fileobj=raw, mtime=0) as g:
            g.write(json.dumps(data, sort_keys=True).encode("utf-8"))
    os.chmod(path, 0o644)


# --- transformers 5 -----------------------------------------------------------------------------------------
def stage_hf5() -> None:
    import tokenizers
    import torch
    import transformers

    torch.manual_seed(SEED)
    # SOP head sized by num_labels
    model = transformers.AlbertForPreTraining(transformers.AlbertConfig(**CONFIG, num_labels=3)).eval()
    rng = np.random.default_rng(SEED)
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.copy_(torch.from_numpy((0.3 * rng.standard_normal(tuple(p.shape))).astype(np.float32)))
    tmp = tempfile.mkdtemp(dir=OUT)
    model.save_pretrained(tmp)
    replace_dir(tmp, "sop3")
    x = inputs()
    with torch.no_grad():
        out = model(**{k: torch.from_numpy(v.astype(np.int64)) for k, v in x.items()})
    save_npz(
        "hf5.npz",
        {"sop3/prediction_logits": out.prediction_logits.numpy(), "sop3/sop_logits": out.sop_logits.numpy()},
    )
    print(
        f"sop3: transformers {transformers.__version__} AlbertForPreTraining num_labels=3, sop_logits "
        f"{tuple(out.sop_logits.shape)}"
    )

    texts = corpus()
    # tokenizer.json-only folder: what v5 saves for the fixture SentencePiece model
    tmp = tempfile.mkdtemp(dir=OUT)
    tok = transformers.AlbertTokenizer.from_pretrained(os.path.dirname(SPM))
    tok.save_pretrained(tmp)
    assert sorted(os.listdir(tmp)) == ["tokenizer.json", "tokenizer_config.json"], os.listdir(tmp)
    ref = transformers.AutoTokenizer.from_pretrained(tmp)  # the folder, as a user loads it
    update_ids("tokenizer_json", reference_ids(ref, texts))
    gzip_file(os.path.join(tmp, "tokenizer.json"))
    replace_dir(tmp, "tokenizer_json")

    # WordPiece vocab.txt trained with tokenizers' BERT pipeline on the corpus (plus CJK for the Chinese case)
    trainer = tokenizers.trainers.WordPieceTrainer(
        vocab_size=400, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    )
    bert = tokenizers.Tokenizer(tokenizers.models.WordPiece(unk_token="[UNK]"))
    bert.normalizer = tokenizers.normalizers.BertNormalizer(lowercase=True)
    bert.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    lines = texts["singles"][:150] * 3 + ["中文 自然 语言 处理 模型 东京 京都"] * 5
    bert.train_from_iterator(lines, trainer)
    tmp = tempfile.mkdtemp(dir=OUT)
    vocab = sorted(bert.get_vocab().items(), key=lambda kv: kv[1])
    with open(os.path.join(tmp, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t, _ in vocab))
    with open(os.path.join(tmp, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": True}, f, indent=2)
    ref = transformers.AutoTokenizer.from_pretrained(tmp)  # the folder as a user loads it: BertTokenizer
    assert type(ref).__name__ == "BertTokenizer" and len(ref) == len(vocab), (type(ref), len(ref))
    update_ids("wordpiece", reference_ids(ref, texts))
    replace_dir(tmp, "wordpiece")
    print(
        f"tokenizer_json, wordpiece: ids of transformers {transformers.__version__} / tokenizers "
        f"{tokenizers.__version__} on {len(texts['singles'])} strings and {len(texts['pairs'])} pairs"
    )


def reference_ids(tok, texts) -> dict:
    singles = [tok(t)["input_ids"] for t in texts["singles"]]
    offsets = [tok(t, return_offsets_mapping=True)["offset_mapping"] for t in texts["singles"]]
    pairs = [tok(a, b)["input_ids"] for a, b in texts["pairs"]]
    types = [tok(a, b, return_token_type_ids=True)["token_type_ids"] for a, b in texts["pairs"]]
    decoded = [tok.decode(ids, skip_special_tokens=True) for ids in singles]
    return {
        "class": type(tok).__name__,
        "ids": singles,
        "offsets": [[list(o) for o in x] for x in offsets],
        "pair_ids": pairs,
        "pair_type_ids": types,
        "decode_skip": decoded,
    }


# --- keras-hub ----------------------------------------------------------------------------------------------
def stage_keras_hub() -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import keras_hub

    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    backbone = keras_hub.models.AlbertBackbone.from_preset(os.path.join(CHECKPOINTS, "hf_safetensors"))
    tokenizer = keras_hub.models.AlbertTokenizer(proto=SPM)
    x = inputs()
    feed = {
        "token_ids": x["input_ids"],
        "segment_ids": x["token_type_ids"],
        "padding_mask": x["attention_mask"],
    }
    out = {}
    base = backbone(feed)
    out["keras_hub/last_hidden_state"] = base["sequence_output"]
    out["keras_hub/pooler_output"] = base["pooled_output"]
    pre = keras_hub.models.AlbertTextClassifierPreprocessor(tokenizer, sequence_length=16)
    clf = keras_hub.models.AlbertTextClassifier(backbone=backbone, preprocessor=pre, num_classes=3)
    for v in clf.layers[-1].weights:  # the logits Dense: seeded, not Keras' random init
        v.assign((0.3 * rng.standard_normal(v.shape)).astype(np.float32))
    out["keras_hub/logits"] = np.asarray(clf(feed))  # the model itself (predict() would preprocess)
    mlm_pre = keras_hub.models.AlbertMaskedLMPreprocessor(tokenizer, sequence_length=16)
    mlm = keras_hub.models.AlbertMaskedLM(backbone=backbone, preprocessor=mlm_pre)
    for v in mlm.masked_lm_head.weights:
        if "embeddings" not in v.path:  # the decoder is the tied token embedding
            value = 0.3 * rng.standard_normal(v.shape) + (1.0 if "gamma" in v.path else 0.0)
            v.assign(value.astype(np.float32))
    positions = np.tile(np.arange(x["input_ids"].shape[1], dtype=np.int32), (x["input_ids"].shape[0], 1))
    out["keras_hub_mlm/logits"] = np.asarray(mlm({**feed, "mask_positions": positions}))
    for name, task in (("keras_hub", clf), ("keras_hub_mlm", mlm)):
        tmp = tempfile.mkdtemp(dir=OUT)
        task.save_to_preset(tmp)
        vocab = os.path.join(tmp, "assets", "tokenizer", "vocabulary.spm")
        with open(vocab, "rb") as a, open(SPM, "rb") as b:
            assert a.read() == b.read(), "vocabulary.spm differs from the fixture spiece.model"
        shutil.rmtree(os.path.join(tmp, "assets"))
        if name == "keras_hub_mlm":  # the backbone files are those of keras_hub/
            for f in os.listdir(tmp):
                if f not in ("task.json", "task.weights.h5"):
                    os.remove(os.path.join(tmp, f))
        for f in os.listdir(tmp):
            if f.endswith(".h5"):
                gzip_file(os.path.join(tmp, f))
        replace_dir(tmp, name)
    save_npz("keras_hub.npz", out)
    texts = corpus()
    ids = [np.asarray(tokenizer(t)).tolist() for t in texts["singles"]]
    update_ids("keras_hub", {"class": "keras_hub.models.AlbertTokenizer", "ids": ids})
    print(
        f"keras_hub, keras_hub_mlm: keras-hub {keras_hub.__version__}, keras {keras.__version__}; "
        f"tokenizer ids on {len(ids)} strings"
    )
    check_keras_hub_loads_ours(keras_hub, feed, out)


def check_keras_hub_loads_ours(keras_hub, feed, expected) -> None:
    """Our `save_pretrained(formats=("keras_hub",))` of the HF fixture, loaded by KerasHub's from_preset."""
    try:
        import tf_albert
    except ImportError:
        print("  (tf_albert not importable: run with PYTHONPATH=. to check KerasHub loading our presets)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        ours = tf_albert.AlbertModel.from_pretrained(os.path.join(CHECKPOINTS, "hf_safetensors"))
        ours.save_pretrained(os.path.join(tmp, "p"), formats=("keras_hub",), tokenizer=SPM)
        backbone = keras_hub.models.AlbertBackbone.from_preset(os.path.join(tmp, "p"))
        got = backbone(feed)
        tokenizer = keras_hub.models.AlbertTokenizer.from_preset(os.path.join(tmp, "p"))
        assert np.asarray(tokenizer("Hello world")).tolist()[:2] == [13, 1]
    diff = max(
        float(np.max(np.abs(np.asarray(got["sequence_output"]) - expected["keras_hub/last_hidden_state"]))),
        float(np.max(np.abs(np.asarray(got["pooled_output"]) - expected["keras_hub/pooler_output"]))),
    )
    print(
        f"  KerasHub from_preset(our keras_hub save of hf_safetensors): max-abs-diff {diff:.2e} vs KerasHub's"
        " " f"own conversion {'ok' if diff <= 1e-5 else 'FAIL'}"
    )
    if diff > 1e-5:
        raise SystemExit(1)


# --- TF Model Garden ----------------------------------------------------------------------------------------
def stage_tfmodels() -> None:
    import tensorflow as tf
    from official.nlp.modeling import networks

    tf.random.set_seed(SEED)
    config = dict(
        vocab_size=64,
        embedding_size=8,
        hidden_size=16,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=24,
        max_position_embeddings=16,
        type_vocab_size=2,
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        initializer_range=0.02,
    )
    encoder = networks.AlbertEncoder(
        vocab_size=64,
        embedding_width=8,
        hidden_size=16,
        num_layers=3,
        num_attention_heads=2,
        max_sequence_length=16,
        type_vocab_size=2,
        intermediate_size=24,
        dropout_rate=0.0,
        attention_dropout_rate=0.0,
    )
    rng = np.random.default_rng(SEED)
    for v in encoder.weights:
        v.assign(
            (0.3 * rng.standard_normal(v.shape) + (1.0 if "gamma" in v.name else 0.0)).astype(np.float32)
        )
    x = inputs()
    seq, pooled = encoder(
        dict(
            input_word_ids=x["input_ids"], input_mask=x["attention_mask"], input_type_ids=x["token_type_ids"]
        )
    )[:2]
    save_npz("tf2.npz", {"tf2/last_hidden_state": seq.numpy(), "tf2/pooler_output": pooled.numpy()})
    tmp = tempfile.mkdtemp(dir=OUT)
    tf.train.Checkpoint(encoder=encoder).save(os.path.join(tmp, "ckpt"))
    with open(os.path.join(tmp, "albert_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    replace_dir(tmp, "tf2")
    tmp = tempfile.mkdtemp(dir=OUT)
    saved = os.path.join(tmp, "saved_model")
    tf.saved_model.save(encoder, saved)
    shutil.move(os.path.join(saved, "variables"), os.path.join(tmp, "variables"))
    shutil.rmtree(saved)
    shutil.copy(os.path.join(OUT, "tf2", "albert_config.json"), tmp)
    replace_dir(tmp, "tf2_savedmodel")
    import official

    print(
        f"tf2, tf2_savedmodel: tf-models-official {getattr(official, '__version__', '2.20')}, "
        f"TensorFlow {tf.__version__}; AlbertEncoder outputs {tuple(seq.shape)}"
    )


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    stages = {"hf5": stage_hf5, "keras_hub": stage_keras_hub, "tfmodels": stage_tfmodels}
    if len(argv) != 1 or argv[0] not in stages:
        print(f"usage: make_format_fixtures.py {{{','.join(stages)}}}", file=sys.stderr)
        return 2
    os.makedirs(OUT, exist_ok=True)
    stages[argv[0]]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
