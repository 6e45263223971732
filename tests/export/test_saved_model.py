"""SavedModel export: every head exported, reloaded in a fresh Python process and compared with the Keras model.

The fresh process (`_WORKER`, one per group of checks) imports only TensorFlow — not tf_albert, and not
tensorflow-text unless a check asks for it — so it sees what TF Serving sees. It loads exports with
`tf.saved_model.load` and with a TF1 session (TF Serving's loading path), walks the graph and function library
for op types, runs the bad-input calls and the concurrency check. `saved_model_cli show --all` / `run` run as
their own processes.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.helpers import FIXTURES, tiny_config
from tf_albert import MODEL_CLASSES
from tf_albert.export import export_saved_model
from tf_albert.export.saved_model import METADATA_FILE

TOL = 1e-5
HEADS = list(MODEL_CLASSES)
MAX_POS = 32
LABELS = {0: "negative", 1: "neutral", 2: "positive"}
TOKENIZER_DIR = os.path.join(FIXTURES, "tokenizer")
SIZES = ((1, 1), (3, 17), (2, MAX_POS))  # batch × length, the last one at max_position_embeddings
CORE_TEXT_HEADS = ("sequence_classification", "question_answering")  # the others: -m slow (each export ~30 s)
pytestmark = pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1")  # 1-token inputs
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}


def _has_tf_text():
    try:
        import tensorflow_text  # noqa: F401
    except ImportError:
        return False
    return True


needs_tf_text = pytest.mark.skipif(not _has_tf_text(), reason="tensorflow-text (tf_albert[text]) not installed")


def _config(**overrides):
    # vocab 1500 = the fixture spiece.model, so the same models serve the text signatures;
    # initializer_range 0.2 gives logits far from 0, so a wrong number cannot hide below the tolerance.
    base = {"vocab_size": 1500, "num_labels": 3, "id2label": LABELS, "initializer_range": 0.2,
            "max_position_embeddings": MAX_POS}
    return tiny_config(**{**base, **overrides})


def _model(head, **overrides):
    model = MODEL_CLASSES[head](_config(**overrides))
    model.build()
    return model


def _cases(model, sizes=SIZES, seed=0):
    """Inputs per size: random ids, a padded row, a second segment — int32, as TF Serving would send them."""
    rng = np.random.default_rng(seed)
    cases = []
    for batch, length in sizes:
        shape = (batch, 2, length) if model.input_rank == 3 else (batch, length)
        ids = rng.integers(5, model.config.vocab_size, size=shape).astype("int32")
        mask = np.ones(shape, "int32")
        if batch > 1:
            mask[1, ..., length // 2:] = 0
        types = np.zeros(shape, "int32")
        types[..., length // 2 + 1:] = 1
        cases.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    return cases


def _keras_outputs(model, case):
    out = model(case["input_ids"], attention_mask=case["attention_mask"], token_type_ids=case["token_type_ids"])
    return {k: np.asarray(v) for k, v in out.items()}


# === The fresh process ===
_WORKER = textwrap.dedent(r'''
    import json, os, sys, threading
    import numpy as np
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import kernels, op_def_registry

    job = json.load(open(sys.argv[1]))
    results, loaded = {}, {}

    def load(path):
        if path not in loaded:
            loaded[path] = tf.saved_model.load(path)
        return loaded[path]

    def arrays(npz, prefix):
        return {k[len(prefix):]: tf.constant(v) for k, v in npz.items() if k.startswith(prefix)}

    def walk(path, signature):
        """Op types of the whole export, or of what one signature reaches (graph nodes + function library)."""
        proto = saved_model_pb2.SavedModel()
        proto.ParseFromString(open(os.path.join(path, "saved_model.pb"), "rb").read())
        meta = proto.meta_graphs[0]
        library = {f.signature.name: f for f in meta.graph_def.library.function}
        nodes = {n.name: n for n in meta.graph_def.node}
        ops, xla, seen = set(), [False], set()

        def visit_attrs(attr):
            for v in attr.values():
                names = ([v.func.name] if v.HasField("func") else []) + [f.name for f in v.list.func]
                for name in names:
                    visit_function(name)

        def visit_function(name):
            if name in seen or name not in library:
                return
            seen.add(name)
            fn = library[name]
            if fn.attr.get("_XlaMustCompile") is not None and fn.attr["_XlaMustCompile"].b:
                xla[0] = True
            for node in fn.node_def:
                ops.add(node.op)
                if node.op in library:
                    visit_function(node.op)
                if node.attr.get("_XlaMustCompile") is not None and node.attr["_XlaMustCompile"].b:
                    xla[0] = True
                visit_attrs(node.attr)

        if signature is None:
            for node in meta.graph_def.node:
                ops.add(node.op)
                visit_attrs(node.attr)
            for name in library:
                visit_function(name)
        else:
            stack, done = [t.name.split(":")[0] for t in meta.signature_def[signature].outputs.values()], set()
            while stack:
                name = stack.pop().lstrip("^")
                if name in done or name not in nodes:
                    continue
                done.add(name)
                ops.add(nodes[name].op)
                visit_attrs(nodes[name].attr)
                stack.extend(i.split(":")[0] for i in nodes[name].input)
        ops = {op for op in ops if op not in library}  # calls of library functions by name
        return {
            "ops": sorted(ops),
            "unregistered": sorted(op for op in ops if op_def_registry.get(op) is None),
            "no_cpu_kernel": sorted(op for op in ops if op_def_registry.get(op) is not None
                                    and not any(k.device_type in ("CPU", "DEFAULT")
                                                for k in kernels.get_registered_kernels_for_op(op).kernel)),
            "python": sorted(op for op in ops if "PyFunc" in op),
            "xla": xla[0],
        }

    def session_run(path, signature, feeds_by_case):
        graph = tf.Graph()
        with tf.compat.v1.Session(graph=graph) as sess:
            meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)
            sig = meta.signature_def[signature]
            fetch = {k: v.name for k, v in sig.outputs.items()}
            return [sess.run(fetch, {sig.inputs[k].name: v for k, v in feeds.items()}) for feeds in feeds_by_case]

    for task in job["tasks"]:
        kind, key = task["kind"], task.get("key")
        if kind == "import":
            __import__(task["module"])
        elif kind == "ops":
            results[key] = walk(task["dir"], task.get("signature"))
        elif kind in ("run", "session"):
            npz = dict(np.load(task["inputs"]))
            n = task["n"]
            if kind == "run":
                fn = load(task["dir"]).signatures[task["signature"]]
                outs = [{k: v.numpy() for k, v in fn(**arrays(npz, f"{i}/")).items()} for i in range(n)]
            else:
                feeds = [{k: v.numpy() for k, v in arrays(npz, f"{i}/").items()} for i in range(n)]
                outs = session_run(task["dir"], task["signature"], feeds)
            np.savez(task["out"], **{f"{i}/{k}": v for i, out in enumerate(outs) for k, v in out.items()})
        elif kind == "text":
            fn = load(task["dir"]).signatures[task["signature"]]
            out = {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in task["inputs"].items()}).items()}
            np.savez(task["out"], **{k: v.astype("S") if v.dtype == object else v for k, v in out.items()})
        elif kind == "error":
            fn = load(task["dir"]).signatures[task["signature"]]
            npz = dict(np.load(task["inputs"]))
            try:
                fn(**arrays(npz, task["case"] + "/"))
                results[key] = None
            except Exception as e:
                results[key] = [type(e).__name__, " ".join(str(e).split())]
        elif kind == "concurrency":
            fn = load(task["dir"]).signatures[task["signature"]]
            npz = dict(np.load(task["inputs"]))
            cases = [arrays(npz, f"{i}/") for i in range(task["n"])]
            reference = [{k: v.numpy() for k, v in fn(**c).items()} for c in cases]
            errors, mismatches, calls = [], [], [0]
            lock = threading.Lock()

            def worker(t):
                for j in range(task["calls"]):
                    i = (t + j) % len(cases)
                    try:
                        out = fn(**cases[i])
                        same = all(np.array_equal(out[k].numpy(), reference[i][k]) for k in reference[i])
                    except Exception as e:
                        with lock:
                            errors.append(repr(e)[:300])
                        continue
                    with lock:
                        calls[0] += 1
                        if not same:
                            mismatches.append((t, j, i))

            threads = [threading.Thread(target=worker, args=(t,)) for t in range(task["threads"])]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            results[key] = {"errors": errors, "mismatches": len(mismatches), "calls": calls[0]}
    results["modules"] = {m: m in sys.modules for m in ("tf_albert", "tensorflow_text")}
    json.dump(results, open(job["results"], "w"))
''')


def _fresh_process(workdir, name, tasks, timeout=900):
    """Runs `tasks` in a new Python process (cwd = a scratch folder); returns its results dict."""
    folder = workdir / name
    folder.mkdir(exist_ok=True)
    worker = folder / "worker.py"
    worker.write_text(_WORKER)
    job = folder / "job.json"
    results = folder / "results.json"
    job.write_text(json.dumps({"tasks": tasks, "results": str(results)}))
    proc = subprocess.run([sys.executable, str(worker), str(job)], cwd=folder, env=ENV, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(results.read_text())


def _save_cases(path, cases):
    np.savez(path, **{f"{i}/{k}": v for i, case in enumerate(cases) for k, v in case.items()})
    return str(path)


def _outputs_by_case(path, n):
    data = np.load(path)
    return [{k.split("/", 1)[1]: data[k] for k in data.files if k.startswith(f"{i}/")} for i in range(n)]


# === Exports shared by the tests ===
class _Export:
    def __init__(self, path, model, cases, signature="serving_default"):
        self.path, self.model, self.cases, self.signature = str(path), model, cases, signature
        self.expected = [_keras_outputs(model, c) for c in cases]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module")
def ids_exports(workdir):
    """Every head, ids signature only (dynamic shapes), plus XLA-compiled variants: static length
    (sequence classification) and dynamic (multiple choice)."""
    exports = {}
    for head in HEADS:
        model = _model(head)
        path = export_saved_model(model, workdir / "models" / head, version=1, signatures=("ids",))
        exports[head] = _Export(path, model, _cases(model))
    model = exports["sequence_classification"].model
    path = export_saved_model(model, workdir / "models" / "seqcls-xla-static", version=1, jit_compile=True,
                              max_length=MAX_POS)
    exports["xla_static"] = _Export(path, model, _cases(model, sizes=((1, MAX_POS), (2, MAX_POS))))
    model = exports["multiple_choice"].model
    path = export_saved_model(model, workdir / "models" / "mc-xla", version=1, jit_compile=True)
    exports["xla_dynamic"] = _Export(path, model, _cases(model))
    return exports


def _bad_cases(export):
    """(name, inputs, expected error type, words the message must contain)."""
    ids = export.cases[1]
    vocab = export.model.config.vocab_size
    out = []

    def variant(name, error, words, **changes):
        case = {k: v.copy() for k, v in ids.items()}
        case.update(changes)
        out.append((name, case, error, words))

    too_big = ids["input_ids"].copy()
    too_big[1, 3] = vocab
    negative = ids["input_ids"].copy()
    negative[0, 0] = -1
    types = ids["token_type_ids"].copy()
    types[2, 5] = 2
    mask = ids["attention_mask"].copy()
    mask[0, 1] = 3
    variant("id_too_big", "InvalidArgumentError", ["input_ids contains", str(vocab), "vocab_size is"],
            input_ids=too_big)
    variant("id_negative", "InvalidArgumentError", ["input_ids contains", "-1"], input_ids=negative)
    variant("type_id", "InvalidArgumentError", ["token_type_ids contains", "type_vocab_size is 2"],
            token_type_ids=types)
    variant("mask_value", "InvalidArgumentError", ["attention_mask contains", "allowed values"],
            attention_mask=mask)
    variant("int64", "InvalidArgumentError", ["int32", "int64"], input_ids=ids["input_ids"].astype("int64"))
    variant("float_mask", "InvalidArgumentError", ["int32", "float"],
            attention_mask=ids["attention_mask"].astype("float32"))
    variant("rank_1", "InvalidArgumentError", ["input_ids", "not compatible with expected shape"],
            input_ids=ids["input_ids"][0])
    variant("shape_mismatch", "InvalidArgumentError", ["must have the same shape"],
            attention_mask=ids["attention_mask"][:, :5])
    long = np.full((1, MAX_POS + 1), 7, "int32")
    variant("too_long", "InvalidArgumentError", ["max_position_embeddings"], input_ids=long,
            attention_mask=np.ones_like(long), token_type_ids=np.zeros_like(long))
    return out


@pytest.fixture(scope="module")
def core_results(workdir, ids_exports):
    """One fresh process (no tf_albert, keras or tensorflow-text): outputs via tf.saved_model.load and a TF1
    session for every export, op walks, bad input, concurrency."""
    tasks = []
    for key, export in ids_exports.items():
        inputs = _save_cases(workdir / f"{key}-in.npz", export.cases)
        for kind in ("run", "session"):
            tasks.append({"kind": kind, "dir": export.path, "signature": export.signature, "inputs": inputs,
                          "n": len(export.cases), "out": str(workdir / f"{key}-{kind}.npz")})
        tasks.append({"kind": "ops", "key": f"ops/{key}", "dir": export.path, "signature": None})
    for key in ("sequence_classification", "xla_dynamic"):
        export = ids_exports[key]
        if key == "xla_dynamic":  # same checks on [batch, choices, seq] through the XLA export
            bad = [(n, {k: (v[:, None].repeat(2, 1) if v.ndim == 2 else v) for k, v in case.items()}, e, w)
                   for n, case, e, w in _bad_cases(ids_exports["sequence_classification"])
                   if n in ("id_too_big", "id_negative", "type_id", "mask_value")]
        else:
            bad = _bad_cases(export)
        inputs = _save_cases(workdir / f"{key}-bad.npz", [case for _, case, _, _ in bad])
        for i, (name, _, _, _) in enumerate(bad):
            tasks.append({"kind": "error", "key": f"bad/{key}/{name}", "dir": export.path,
                          "signature": export.signature, "inputs": inputs, "case": str(i)})
    export = ids_exports["sequence_classification"]
    tasks.append({"kind": "concurrency", "key": "concurrency", "dir": export.path, "signature": export.signature,
                  "inputs": str(workdir / "sequence_classification-in.npz"), "n": len(export.cases),
                  "threads": 8, "calls": 50})
    return _fresh_process(workdir, "core", tasks)


@pytest.mark.parametrize("key", HEADS + ["xla_static", "xla_dynamic"])
@pytest.mark.parametrize("kind", ["run", "session"])
def test_reloaded_export_matches_keras(key, kind, ids_exports, core_results, workdir):
    """1×1, 3×17 and 2×max inputs: the export loaded in a fresh process (tf.saved_model.load, and a TF1
    session as TF Serving loads it) gives the Keras model's outputs within 1e-5."""
    export = ids_exports[key]
    got = _outputs_by_case(workdir / f"{key}-{kind}.npz", len(export.cases))
    for case, want, out in zip(export.cases, export.expected, got):
        assert sorted(out) == sorted(want), (sorted(out), sorted(want))
        for name in want:
            assert out[name].dtype == np.float32
            assert out[name].shape == want[name].shape, (name, out[name].shape, want[name].shape)
            diff = float(np.abs(out[name] - want[name]).max())
            assert diff <= TOL, f"{key} {name} at {case['input_ids'].shape}: max-abs-diff {diff}"
    assert max(np.abs(v).max() for want in export.expected for v in want.values()) > 0.1  # not all ~0


def test_fresh_process_needs_only_tensorflow(core_results):
    # (`import tensorflow` itself imports keras when it is installed, so keras is not checked.)
    assert core_results["modules"] == {"tf_albert": False, "tensorflow_text": False}


@pytest.mark.parametrize("key", HEADS + ["xla_static", "xla_dynamic"])
def test_ids_export_holds_only_core_ops(key, core_results):
    """Every op in the graph and the function library is registered by TensorFlow itself (the process has not
    imported tensorflow-text or anything else) with a CPU kernel; no Python functions."""
    ops = core_results[f"ops/{key}"]
    assert len(ops["ops"]) > 20 and ("MatMul" in ops["ops"] or "BatchMatMulV2" in ops["ops"])
    assert ops["unregistered"] == [], ops["unregistered"]
    assert ops["python"] == [], ops["python"]
    assert ops["no_cpu_kernel"] == [], ops["no_cpu_kernel"]
    assert ops["xla"] == key.startswith("xla"), "jit_compile must produce XLA-compiled functions, and only then"


def test_signature_op_types_helper(ids_exports, core_results):
    from tf_albert.export import signature_op_types

    path = ids_exports["question_answering"].path
    assert sorted(signature_op_types(path)) == core_results["ops/question_answering"]["ops"]
    assert signature_op_types(path, "serving_default") <= signature_op_types(path)
    with pytest.raises(KeyError, match="has no signature 'serving_text'"):
        signature_op_types(path, "serving_text")


def test_bad_input_errors(ids_exports, core_results):
    """Wrong dtype or rank → TF's signature/shape error; out-of-range values → an error naming the value."""
    for key in ("sequence_classification", "xla_dynamic"):
        cases = _bad_cases(ids_exports["sequence_classification"])
        if key == "xla_dynamic":
            cases = [c for c in cases if c[0] in ("id_too_big", "id_negative", "type_id", "mask_value")]
        for name, _, error, words in cases:
            got = core_results[f"bad/{key}/{name}"]
            assert got is not None, f"{key}: {name} ran without an error"
            assert got[0] == error, (key, name, got)
            for word in words:
                assert word in got[1], (key, name, word, got[1][:500])


def test_concurrent_calls_on_one_loaded_export(core_results):
    result = core_results["concurrency"]
    assert result["errors"] == []
    assert result["calls"] == 8 * 50
    assert result["mismatches"] == 0


# === saved_model_cli ===
def _cli_literal(array):
    return repr(array.tolist()).replace(" ", "")


def _saved_model_cli(*args, pre_import=None):
    if pre_import:  # the text signature's ops must be registered first (a server links them in)
        code = (f"import sys, {pre_import}; from tensorflow.python.tools.saved_model_cli import main; "
                "sys.argv = ['saved_model_cli'] + sys.argv[1:]; sys.exit(main())")
        cmd = [sys.executable, "-c", code, *args]
    else:
        cmd = [os.path.join(os.path.dirname(sys.executable), "saved_model_cli"), *args]
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize("head", [pytest.param(h, marks=() if h in ("multiple_choice", "question_answering")
                                               else pytest.mark.slow) for h in HEADS])
def test_saved_model_cli_show_and_run(head, ids_exports, tmp_path):
    export = ids_exports[head]
    shown = _saved_model_cli("show", "--dir", export.path, "--all")
    assert shown.returncode == 0, shown.stderr[-3000:]
    rank = export.model.input_rank
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        assert f"inputs['{name}'] tensor_info:\n        dtype: DT_INT32\n        shape: ({', '.join(['-1'] * rank)})" \
            in shown.stdout, shown.stdout[:3000]
    for name in export.expected[0]:
        assert f"outputs['{name}'] tensor_info:\n        dtype: DT_FLOAT" in shown.stdout
    assert "Method name is: tensorflow/serving/predict" in shown.stdout

    case, want = export.cases[1], export.expected[1]
    exprs = ";".join(f"{k}={_cli_literal(v)}" for k, v in case.items())
    ran = _saved_model_cli("run", "--dir", export.path, "--tag_set", "serve", "--signature_def",
                           "serving_default", "--input_exprs", exprs, "--outdir", str(tmp_path / "out"))
    assert ran.returncode == 0, ran.stderr[-3000:]
    for name in want:
        got = np.load(tmp_path / "out" / f"{name}.npy")
        assert float(np.abs(got - want[name]).max()) <= TOL

    bad = {k: v.copy() for k, v in case.items()}
    bad["input_ids"][0, 0] = export.model.config.vocab_size + 7
    exprs = ";".join(f"{k}={_cli_literal(v)}" for k, v in bad.items())
    ran = _saved_model_cli("run", "--dir", export.path, "--tag_set", "serve", "--signature_def",
                           "serving_default", "--input_exprs", exprs)
    assert ran.returncode != 0
    assert f"input_ids contains] [{export.model.config.vocab_size + 7}]" in ran.stderr


# === The text signatures ===
_TEXTS = ["Hello, World! The café has 1,000 seats.", "", "a [MASK] b",
          ("This sentence is much longer than the thirty-two tokens the tiny model takes, so the in-graph "
           "tokenizer has to truncate it exactly like the Python one.")]
_PAIRS = ["Is it open?", "Empty first.", "pair", "short"]
_QUESTIONS = ["How many seats are there?", "Who?", "What is it?"]
_CONTEXTS = ["The café has 1,000 seats and opens at 9.", "", "It is a very long context " * 6]
_PROMPT = ["The sky is", "Grass is"]
_CHOICES = [["blue.", "green", "made of cheese"], ["red", "green!", "1,000"]]


@pytest.fixture(scope="module")
def tokenizer():
    from tf_albert.tokenization import AlbertTokenizer

    return AlbertTokenizer.from_pretrained(TOKENIZER_DIR)


_text_exports = {}


def _text_export(head, workdir, tokenizer):
    """ids + text signatures; sequence classification exported text-first (serving_default = text)."""
    if head not in _text_exports:
        model = _model(head)
        path = export_saved_model(model, workdir / "text-models" / head, version=1, tokenizer=tokenizer,
                                  text_first=head == "sequence_classification", top_k=2)
        _text_exports[head] = (path, model)
    return _text_exports[head]


def _text_inputs(head):
    if head == "question_answering":
        return {"serving_text": {"question": _QUESTIONS, "context": _CONTEXTS}}
    if head == "multiple_choice":
        return {"serving_text": {"text": _PROMPT, "choices": _CHOICES}}
    out = {"serving_text": {"text": _TEXTS}, "serving_text_pair": {"text": _TEXTS, "text_pair": _PAIRS}}
    if head == "sequence_classification":  # text-first: the text signature is the default
        out["serving_default"] = out.pop("serving_text")
    return out


def _encode(tokenizer, head, inputs):
    """The Python tokenizer's ids for the same strings (the reference for the in-graph ones)."""
    kw = {"padding": "longest", "truncation": True, "max_length": MAX_POS, "return_tensors": "np"}
    if head == "question_answering":
        return tokenizer(inputs["question"], inputs["context"], **kw)
    if head == "multiple_choice":
        n = len(inputs["choices"][0])
        firsts = [t for t in inputs["text"] for _ in range(n)]
        enc = tokenizer(firsts, [c for row in inputs["choices"] for c in row], **kw)
        return {k: v.reshape(len(inputs["text"]), n, -1) for k, v in enc.items()}
    return tokenizer(inputs["text"], inputs.get("text_pair"), **kw)


def _best_span(start, end, ids, types, mask, sep_id, max_answer_length=30):
    best, where = None, (-1, -1)
    context = [i for i in range(len(ids)) if types[i] == 1 and mask[i] == 1 and ids[i] != sep_id]
    for i in context:
        for j in context:
            if i <= j < i + max_answer_length and (best is None or start[i] + end[j] > best):
                best, where = start[i] + end[j], (i, j)
    return where, best


def _check_text_outputs(head, signature, inputs, out, model, tokenizer):
    enc = _encode(tokenizer, head, inputs)
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(out[name], np.asarray(enc[name]), err_msg=f"{signature} {name}")
    want = _keras_outputs(model, {k: np.asarray(enc[k], "int32") for k in
                                  ("input_ids", "attention_mask", "token_type_ids")})
    for name, value in want.items():
        assert float(np.abs(out[name] - value).max()) <= TOL, (signature, name)
    k = 2
    if head in ("sequence_classification", "token_classification"):
        probs = np.exp(want["logits"]) / np.exp(want["logits"]).sum(-1, keepdims=True)
        order = np.argsort(-probs, axis=-1)[..., :k]
        np.testing.assert_array_equal(out["top_k_ids"], order)
        np.testing.assert_allclose(out["top_k_probabilities"], np.take_along_axis(probs, order, -1), atol=1e-6)
        labels = np.vectorize(LABELS.get)(order)
        assert out["top_k_labels"].astype(str).tolist() == labels.tolist()
    elif head in ("masked_lm", "pretraining"):
        logits = want["logits" if head == "masked_lm" else "prediction_logits"]
        order = np.argsort(-logits, axis=-1)[..., :k]
        np.testing.assert_array_equal(out["top_k_ids"], order)
        tokens = [[tokenizer.convert_ids_to_tokens(list(map(int, pos))) for pos in row] for row in order]
        assert [[[t.decode() for t in pos] for pos in row] for row in out["top_k_tokens"]] == tokens
        if head == "pretraining":
            sop = np.exp(want["sop_logits"]) / np.exp(want["sop_logits"]).sum(-1, keepdims=True)
            np.testing.assert_allclose(out["sop_probabilities"], sop, atol=1e-6)
    elif head == "multiple_choice":
        order = np.argsort(-want["logits"], axis=-1)[..., :k]
        np.testing.assert_array_equal(out["top_k_ids"], order)
        chosen = [[inputs["choices"][b][i] for i in row] for b, row in enumerate(order)]
        assert [[c.decode() for c in row] for row in out["top_k_choices"]] == chosen
    elif head == "question_answering":
        for b in range(len(inputs["question"])):
            ids = np.asarray(enc["input_ids"][b])
            (i, j), score = _best_span(want["start_logits"][b], want["end_logits"][b], ids,
                                       enc["token_type_ids"][b], enc["attention_mask"][b], tokenizer.sep_token_id)
            assert (int(out["answer_start"][b]), int(out["answer_end"][b])) == (i, j)
            answer = tokenizer.decode(ids[i:j + 1]) if i >= 0 else ""
            assert out["answer"][b].decode() == answer
            if i >= 0:
                assert abs(float(out["score"][b]) - score) <= 1e-5
        assert int(out["answer_start"][1]) == -1 and out["answer"][1] == b""  # the empty context


@needs_tf_text
@pytest.mark.parametrize("head", [pytest.param(h, marks=() if h in CORE_TEXT_HEADS else pytest.mark.slow)
                                  for h in HEADS])
def test_text_signatures(head, workdir, tokenizer):
    """Raw strings through the text signatures of an export loaded in a fresh process: the same ids as the
    Python tokenizer, the Keras model's outputs, and readable predictions (labels, tokens, choices, answer).
    The op walk runs before tensorflow-text is imported: its ops are the only non-core ones."""
    path, model = _text_export(head, workdir, tokenizer)
    inputs = _text_inputs(head)
    tasks = [{"kind": "ops", "key": "ops_text", "dir": path, "signature": "serving_text_pair" if
              "serving_text_pair" in inputs else next(iter(inputs))},
             {"kind": "ops", "key": "ops_ids", "dir": path,
              "signature": "serving_ids" if head == "sequence_classification" else "serving_default"},
             {"kind": "import", "module": "tensorflow_text"}]
    for signature, feed in inputs.items():
        tasks.append({"kind": "text", "dir": path, "signature": signature, "inputs": feed,
                      "out": str(workdir / f"text-{head}-{signature}.npz")})
    results = _fresh_process(workdir, f"text-{head}", tasks)
    assert results["modules"]["tf_albert"] is False

    non_core = results["ops_text"]["unregistered"]
    assert non_core and all(op.startswith("Sentencepiece") for op in non_core), non_core
    assert results["ops_ids"]["unregistered"] == []  # the ids signature needs no tensorflow-text op
    assert results["ops_text"]["python"] == []

    from tf_albert.export import ops_outside_core

    text_signature = tasks[0]["signature"]
    assert ops_outside_core(path, text_signature) == non_core  # the helper the docs point to agrees

    for signature, feed in inputs.items():
        out = dict(np.load(workdir / f"text-{head}-{signature}.npz"))
        _check_text_outputs(head, signature, feed, out, model, tokenizer)


@needs_tf_text
@pytest.mark.slow
def test_saved_model_cli_runs_the_text_signature(workdir, tokenizer, tmp_path):
    """saved_model_cli (with tensorflow-text's ops registered, as in TF Serving's binary) shows and runs the
    QA text signature through a TF1 session."""
    path, model = _text_export("question_answering", workdir, tokenizer)
    shown = _saved_model_cli("show", "--dir", path, "--all", pre_import="tensorflow_text")
    assert shown.returncode == 0, shown.stderr[-3000:]
    for name in ("question", "context"):
        assert f"inputs['{name}'] tensor_info:\n        dtype: DT_STRING\n        shape: (-1)" in shown.stdout
    for name in ("answer", "answer_start", "answer_end", "score", "start_logits", "input_ids"):
        assert f"outputs['{name}'] tensor_info:" in shown.stdout
    ran = _saved_model_cli("run", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_text",
                           "--input_exprs", f"question={_QUESTIONS[:1]!r};context={_CONTEXTS[:1]!r}",
                           "--outdir", str(tmp_path / "out"), pre_import="tensorflow_text")
    assert ran.returncode == 0, ran.stderr[-3000:]
    out = {name: np.load(tmp_path / "out" / f"{name}.npy", allow_pickle=True) for name in
           ("input_ids", "attention_mask", "token_type_ids", "start_logits", "end_logits", "answer")}
    inputs = {"question": _QUESTIONS[:1], "context": _CONTEXTS[:1]}
    enc = _encode(tokenizer, "question_answering", inputs)
    np.testing.assert_array_equal(out["input_ids"], enc["input_ids"])
    want = _keras_outputs(model, {k: np.asarray(enc[k], "int32") for k in
                                  ("input_ids", "attention_mask", "token_type_ids")})
    assert float(np.abs(out["start_logits"] - want["start_logits"]).max()) <= TOL


@needs_tf_text
def test_text_export_stores_labels_and_metadata(workdir, tokenizer):
    path, model = _text_export("sequence_classification", workdir, tokenizer)
    with open(os.path.join(path, "assets", "labels.txt"), encoding="utf-8") as f:
        assert f.read() == "negative\nneutral\npositive\n"
    with open(os.path.join(path, METADATA_FILE), encoding="utf-8") as f:
        meta = json.load(f)
    assert meta["model_class"] == "AlbertForSequenceClassification"
    assert meta["config"] == model.config.to_dict()
    assert sorted(meta["signatures"]) == ["serving_default", "serving_ids", "serving_text_pair"]
    assert sorted(meta["signatures"]["serving_default"]["inputs"]) == ["text"]
    assert meta["signatures"]["serving_ids"]["inputs"]["input_ids"] == {"dtype": "int32", "shape": [None, None]}
    assert meta["versions"]["tensorflow"] and meta["top_k"] == 2


@needs_tf_text
def test_text_export_refuses_what_cannot_work(tmp_path, tokenizer):
    small = MODEL_CLASSES["sequence_classification"](tiny_config(num_labels=2))
    with pytest.raises(ValueError, match="tokenizer has 1500 ids but the model's vocab_size is 99"):
        export_saved_model(small, tmp_path / "a", tokenizer=tokenizer)
    model = MODEL_CLASSES["sequence_classification"](_config(id2label={0: "a\nb", 1: "c", 2: "d"}))
    with pytest.raises(ValueError, match="contains a line break"):
        export_saved_model(model, tmp_path / "b", tokenizer=tokenizer)
    assert not os.path.exists(tmp_path / "a") and not os.path.exists(tmp_path / "b")


# === Options, layout, atomic writes, CLI ===
@pytest.fixture
def small_model():
    model = MODEL_CLASSES["sequence_classification"](tiny_config(num_labels=2))
    model.build()
    return model


@pytest.mark.parametrize("kwargs, error, match", [
    ({"signatures": ("ids", "html")}, ValueError, "signatures must be a non-empty subset"),
    ({"signatures": ()}, ValueError, "signatures must be a non-empty subset"),
    ({"signatures": ("text",)}, ValueError, "the 'text' signature needs a tokenizer"),
    ({"text_first": True}, ValueError, "text_first=True makes the text signature the default"),
    ({"max_length": 33}, ValueError, r"max_length must be None or an int in \[1, 32\]"),
    ({"max_length": 0}, ValueError, "max_length must be"),
    ({"version": -1}, ValueError, "version must be None, 'next' or a non-negative int"),
    ({"version": "latest"}, ValueError, "version must be"),
    ({"top_k": 0}, ValueError, "top_k must be a positive int"),
    ({"jit_compile": "yes"}, TypeError, "jit_compile must be True or False"),
])
def test_bad_options(kwargs, error, match, small_model, tmp_path):
    with pytest.raises(error, match=match):
        export_saved_model(small_model, tmp_path / "m", **kwargs)
    assert not os.path.exists(tmp_path / "m")


def test_not_a_model(tmp_path):
    with pytest.raises(TypeError, match="model must be a tf_albert model"):
        export_saved_model(object(), tmp_path / "m")


def _leftovers(folder):
    return [n for n in os.listdir(folder) if n.startswith(".")]


def test_versions_overwrite_and_atomic_writes(small_model, tmp_path, monkeypatch):
    import tensorflow as tf

    base = tmp_path / "saved_models" / "clf"
    first = small_model.export_saved_model(base, version="next")  # the model's own hook
    assert first == str(base / "1") and os.path.isfile(base / "1" / "saved_model.pb")
    mask = os.umask(0)
    os.umask(mask)
    assert oct(os.stat(first).st_mode & 0o777) == oct(0o777 & ~mask)  # readable by a TF Serving user
    second = export_saved_model(small_model, base, version="next", max_length=8)
    assert second == str(base / "2")
    with pytest.raises(FileExistsError, match="already exists"):
        export_saved_model(small_model, base, version=2)

    def meta(version):
        with open(base / str(version) / METADATA_FILE, encoding="utf-8") as f:
            return json.load(f)

    assert meta(2)["max_length"] == 8

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", broken_save)
    for overwrite in (False, True):
        version = 3 if not overwrite else 2
        with pytest.raises(OSError, match="disk full"):
            export_saved_model(small_model, base, version=version, overwrite=overwrite)
    monkeypatch.undo()
    assert sorted(os.listdir(base)) == ["1", "2"]  # nothing half-written, the old version 2 untouched
    assert meta(2)["max_length"] == 8

    export_saved_model(small_model, base, version=2, overwrite=True)
    assert meta(2)["max_length"] is None
    assert sorted(os.listdir(base)) == ["1", "2"] and _leftovers(base) == []
    plain = export_saved_model(small_model, tmp_path / "plain")  # version=None: the folder itself
    assert os.path.isfile(os.path.join(plain, "saved_model.pb"))


def test_cli_exports_a_keras_file_and_a_model_folder(small_model, tmp_path, capsys):
    import tensorflow as tf

    from tf_albert.export.cli import main

    source = tmp_path / "src" / "my-clf.keras"
    source.parent.mkdir()
    small_model.save(source)
    out = tmp_path / "saved_models"
    assert main([str(source), "--output-dir", str(out), "--max-length", "16"]) == 0
    printed = capsys.readouterr().out
    assert f"exported AlbertForSequenceClassification to {out / 'my-clf' / '1'}" in printed
    assert "serving_default: (attention_mask int32[None, 16]" in printed
    assert main([str(source), "--output-dir", str(out), "--name", "clf", "--version", "7", "--jit-compile"]) == 0
    assert os.path.isfile(out / "clf" / "7" / "saved_model.pb")
    assert main([str(source), "--output-dir", str(out), "--name", "clf", "--version", "7"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.keras"), "--output-dir", str(out)]) == 2
    assert "no such .keras file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(source), "--version", "v1"])

    folder = tmp_path / "my-folder"  # save_pretrained: config.json names the class
    small_model.save_pretrained(folder)
    assert main([str(folder), "--output-dir", str(out)]) == 0
    assert f"exported AlbertForSequenceClassification to {out / 'my-folder' / '1'}" in capsys.readouterr().out
    serve = tf.saved_model.load(str(out / "my-folder" / "1")).signatures["serving_default"]
    case = _cases(small_model, sizes=((2, 9),))[0]
    got = serve(**{k: tf.constant(v) for k, v in case.items()})["logits"].numpy()
    assert float(np.abs(got - _keras_outputs(small_model, case)["logits"]).max()) <= TOL
    assert main([str(tmp_path / "nowhere"), "--output-dir", str(out)]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("head", HEADS)
def test_every_head_exports_with_xla(head, tmp_path):
    """Every head's XLA export (dynamic shapes) matches the Keras model; checked in this process."""
    import tensorflow as tf

    model = _model(head)
    path = export_saved_model(model, tmp_path / head, jit_compile=True)
    fn = tf.saved_model.load(path).signatures["serving_default"]
    for case in _cases(model):
        want = _keras_outputs(model, case)
        out = fn(**{k: tf.constant(v) for k, v in case.items()})
        for name in want:
            assert float(np.abs(out[name].numpy() - want[name]).max()) <= TOL
