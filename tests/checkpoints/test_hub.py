"""Hub ids through huggingface_hub, tested offline: a real HF cache layout on disk (what a previous download
leaves) and a stand-in for `hf_hub_download` for the online path. No network is used."""

import os
import shutil
import sys

import pytest

import tf_albert
from tests.helpers import SPM, expected, head_inputs, materialize, max_diff
from tf_albert.checkpoints import hub

huggingface_hub = pytest.importorskip("huggingface_hub")
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _fake_cache(root, repo_id, files: dict) -> str:
    """An HF hub cache holding `files` ({name: source path}) of `repo_id` at revision main."""
    repo = os.path.join(root, "models--" + repo_id.replace("/", "--"))
    snapshot = os.path.join(repo, "snapshots", COMMIT)
    os.makedirs(snapshot)
    os.makedirs(os.path.join(repo, "refs"))
    with open(os.path.join(repo, "refs", "main"), "w") as f:
        f.write(COMMIT)
    for name, src in files.items():
        shutil.copy(src, os.path.join(snapshot, name))
    return root


@pytest.fixture
def cache(tmp_path):
    folder = materialize("safetensors", str(tmp_path / "src"))
    files = {n: os.path.join(folder, n) for n in os.listdir(folder)}
    files["spiece.model"] = SPM
    return _fake_cache(str(tmp_path / "cache"), "albert/tiny", files)


def test_hub_id_loads_from_the_cache_when_offline(cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # read at call time, not at import
    model = tf_albert.AlbertForPreTraining.from_pretrained("albert/tiny", cache_dir=cache)
    x, want = expected()
    assert max_diff(model(**head_inputs("pretraining", x)), want["pretraining"]) <= 1e-5
    assert model.loading_info.source.endswith(os.path.join(COMMIT, "model.safetensors"))


def test_local_files_only_and_not_cached(tmp_path):
    with pytest.raises(OSError, match=r"albert/absent/config.json is not in the local cache and downloads are off "
                                      r"\(local_files_only=True or HF_HUB_OFFLINE=1\)"):
        tf_albert.AlbertModel.from_pretrained("albert/absent", local_files_only=True, cache_dir=str(tmp_path))


def test_cache_without_weights(tmp_path):
    folder = materialize("safetensors", str(tmp_path / "src"))
    cache = _fake_cache(str(tmp_path / "cache"), "albert/cfg-only", {"config.json": os.path.join(folder, "config.json")})
    with pytest.raises(OSError, match="albert/cfg-only has no ALBERT weights .* in the local cache"):
        tf_albert.AlbertModel.from_pretrained("albert/cfg-only", local_files_only=True, cache_dir=cache)


class _FakeHub:
    """Stands in for hf_hub_download: serves files from a local 'remote' folder, records the calls."""

    def __init__(self, remote, error=None):
        self.remote, self.error, self.calls = remote, error, []

    def __call__(self, repo_id, filename, **kwargs):
        self.calls.append((repo_id, filename, kwargs))
        if self.error is not None:
            raise self.error
        path = os.path.join(self.remote, filename)
        if not os.path.isfile(path):
            raise huggingface_hub.errors.EntryNotFoundError(f"{filename} not found")
        return path


def test_online_download_tries_formats_in_order_and_passes_options(tmp_path, monkeypatch):
    remote = materialize("h5", str(tmp_path / "remote"))  # this repo only has tf_model.h5
    fake = _FakeHub(remote)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    model = tf_albert.AlbertForMaskedLM.from_pretrained("someone/tiny-albert", revision="v1", token="hf_x")
    assert [c[1] for c in fake.calls] == ["config.json", "model.safetensors", "model.safetensors.index.json",
                                          "tf_model.h5"]
    assert all(c[2]["revision"] == "v1" and c[2]["token"] == "hf_x" and c[2]["local_files_only"] is False
               for c in fake.calls)
    x, want = expected()
    assert max_diff(model(**head_inputs("masked_lm", x)), want["masked_lm"]) <= 1e-5


def test_offline_env_is_passed_to_the_hub(tmp_path, monkeypatch):
    fake = _FakeHub(materialize("safetensors", str(tmp_path / "remote")))
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tf_albert.AlbertModel.from_pretrained("someone/tiny-albert")
    assert all(c[2]["local_files_only"] is True for c in fake.calls)


def test_repository_not_found(monkeypatch):
    cls = huggingface_hub.errors.RepositoryNotFoundError
    error = cls.__new__(cls)  # its __init__ wants an HTTP response; the class is what matters
    Exception.__init__(error, "404 Client Error: Repository Not Found")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _FakeHub("/nowhere", error))
    with pytest.raises(OSError, match="'someone/missing' is neither a local folder nor a model repository"):
        tf_albert.AlbertModel.from_pretrained("someone/missing")


def test_without_huggingface_hub(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(ImportError, match=r"pip install \"tf_albert\[hub\]\""):
        tf_albert.AlbertModel.from_pretrained("albert/albert-base-v2")


def test_tokenizer_files_from_the_hub_cache(cache, monkeypatch):
    from tf_albert.tokenization import AlbertTokenizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = hub.download_tokenizer("albert/tiny", cache_dir=cache)
    assert os.path.isfile(os.path.join(folder, "spiece.model"))
    tok = AlbertTokenizer.from_pretrained(folder)
    assert tok("hello")["input_ids"] == AlbertTokenizer(vocab_file=SPM)("hello")["input_ids"]


def test_is_hub_id():
    assert hub.is_hub_id("albert/albert-base-v2") and hub.is_hub_id("albert-base-v2")
    assert not hub.is_hub_id("../x") and not hub.is_hub_id("/abs/path") and not hub.is_hub_id("a/b/c")
