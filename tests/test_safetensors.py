"""safetensors read and written with NumPy alone: against the reference package, PyTorch
modules, and corrupt or hostile files."""

from __future__ import annotations

import json

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.io import SafetensorsError, load_safetensors, safetensors_metadata, save_safetensors


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "w": rng.standard_normal((3, 4)).astype(np.float32),
        "b": rng.standard_normal(4),
        "idx": np.array([1, -2, 3], dtype=np.int64),
        "half": rng.standard_normal(5).astype(np.float16),
        "flag": np.array(True),
        "empty": np.zeros((0, 7), dtype=np.float32),
        "u8": np.arange(9, dtype=np.uint8).reshape(3, 3),
    }


def _write_raw(path, header: dict, data: bytes, pad: int = 0) -> None:
    text = json.dumps(header).encode() + b" " * pad
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)


def test_round_trip_keeps_values_dtypes_shapes_and_metadata(tmp_path):
    arrays = _arrays()
    save_safetensors(arrays, tmp_path / "a.safetensors", metadata={"format": "np"})
    back = load_safetensors(tmp_path / "a.safetensors")
    assert set(back) == set(arrays)
    for k, a in arrays.items():
        assert back[k].dtype == a.dtype and back[k].shape == a.shape
        np.testing.assert_array_equal(back[k], a)
    assert safetensors_metadata(tmp_path / "a.safetensors") == {"format": "np"}


def test_data_is_8_byte_aligned_and_each_tensor_aligned_to_its_itemsize(tmp_path):
    save_safetensors(_arrays(), tmp_path / "a.st")
    raw = (tmp_path / "a.st").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    assert n % 8 == 0
    header = json.loads(raw[8:8 + n])
    for name, e in header.items():
        if name != "__metadata__":
            item = np.dtype({"F64": "f8", "F32": "f4", "I64": "i8", "F16": "f2", "BOOL": "?",
                             "U8": "u1"}[e["dtype"]]).itemsize
            assert e["data_offsets"][0] % item == 0


def test_files_of_the_reference_package_load_and_ours_load_there(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    arrays = _arrays()
    st.save_file(arrays, str(tmp_path / "ref.st"), metadata={"a": "b"})
    back = load_safetensors(tmp_path / "ref.st")
    for k, a in arrays.items():
        np.testing.assert_array_equal(back[k], a)
        assert back[k].dtype == a.dtype
    save_safetensors(arrays, tmp_path / "ours.st")
    theirs = st.load_file(str(tmp_path / "ours.st"))
    for k, a in arrays.items():
        np.testing.assert_array_equal(theirs[k], a)
        assert theirs[k].dtype == a.dtype


def test_bfloat16_reads_as_exact_float32(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    t = torch.randn(4, 5, dtype=torch.float64).to(torch.bfloat16)
    st.save_file({"t": t}, str(tmp_path / "bf.st"))
    back = load_safetensors(tmp_path / "bf.st")["t"]
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, t.float().numpy())


def _mlp() -> dg.nn.Module:
    dg.manual_seed(0)
    return dg.nn.Sequential(dg.nn.Linear(4, 8), dg.nn.ReLU(), dg.nn.BatchNorm1d(8),
                            dg.nn.Linear(8, 3))


def test_a_deepgrad_module_saves_and_loads_into_pytorch_and_back(tmp_path):
    torch = pytest.importorskip("torch")
    model = _mlp()
    save_safetensors(model, tmp_path / "m.st")
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.BatchNorm1d(8),
                             torch.nn.Linear(8, 3))
    state = {k: torch.from_numpy(v) for k, v in load_safetensors(tmp_path / "m.st").items()}
    tm.load_state_dict(state)  # strict: the names are PyTorch's
    tm.eval()
    model.eval()
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(tm(torch.from_numpy(x)).detach().numpy(),
                               model(dg.tensor(x)).data, rtol=1e-5, atol=1e-6)
    # and back: PyTorch's weights into a fresh deepgrad model
    st = pytest.importorskip("safetensors.torch")
    with torch.no_grad():
        for p in tm.parameters():
            p.mul_(2.0)
    st.save_file(tm.state_dict(), str(tmp_path / "t.st"))
    other = _mlp()
    other.load_state_dict(load_safetensors(tmp_path / "t.st"))
    other.eval()
    np.testing.assert_allclose(other(dg.tensor(x)).data,
                               tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_state_dict_of_tensors_is_accepted(tmp_path):
    save_safetensors({"x": dg.tensor(np.ones((2, 2), np.float32))}, tmp_path / "x.st")
    np.testing.assert_array_equal(load_safetensors(tmp_path / "x.st")["x"], np.ones((2, 2)))


@pytest.mark.parametrize("state, message", [
    ({"x": np.array(["a"])}, "dtype"),
    ({"x": np.array([1 + 2j])}, "dtype"),
    ({"": np.ones(1)}, "names"),
    ({"__metadata__": np.ones(1)}, "names"),
])
def test_saving_refuses_what_safetensors_cannot_hold(tmp_path, state, message):
    with pytest.raises(ValueError, match=message):
        save_safetensors(state, tmp_path / "x.st")
    assert not (tmp_path / "x.st").exists()


def test_saving_refuses_non_string_metadata_and_non_state_dicts(tmp_path):
    with pytest.raises(ValueError, match="metadata"):
        save_safetensors({"x": np.ones(1)}, tmp_path / "x.st", metadata={"a": 1})
    with pytest.raises(TypeError, match="state dict"):
        save_safetensors([np.ones(1)], tmp_path / "x.st")


def test_a_failed_save_keeps_the_previous_file(tmp_path):
    save_safetensors({"x": np.ones(2)}, tmp_path / "x.st")
    before = (tmp_path / "x.st").read_bytes()
    with pytest.raises(ValueError):
        save_safetensors({"x": np.ones(2), "y": np.array(["s"])}, tmp_path / "x.st")
    assert (tmp_path / "x.st").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.st"]


GOOD = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}


@pytest.mark.parametrize("header, data, message", [
    ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8, "needs 12 bytes"),
    ({"a": {"dtype": "Q9", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, "unsupported dtype"),
    ({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, b"\0" * 8, "shape"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, b"\0" * 8, "data_offsets"),
    ({"a": {"dtype": "F32", "shape": [2]}}, b"\0" * 8, "keys"),
    (GOOD, b"\0" * 4, "truncated"),
    (GOOD, b"\0" * 12, "padded"),
    ({**GOOD, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8,
     "overlaps"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, "gap"),
    ({**GOOD, "__metadata__": {"k": 3}}, b"\0" * 8, "__metadata__"),
    ([1, 2], b"", "JSON object"),
])
def test_corrupt_files_give_one_clear_error(tmp_path, header, data, message):
    path = tmp_path / "bad.st"
    _write_raw(path, header, data)
    with pytest.raises(SafetensorsError, match=message) as info:
        load_safetensors(path)
    assert str(path) in str(info.value)


def test_a_huge_header_length_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.st"
    path.write_bytes((1 << 62).to_bytes(8, "little") + b"{}")
    with pytest.raises(SafetensorsError, match="header claims"):
        load_safetensors(path)


def test_a_declared_tensor_larger_than_the_file_is_refused_before_allocation(tmp_path):
    path = tmp_path / "big.st"
    _write_raw(path, {"a": {"dtype": "F64", "shape": [1 << 20, 1 << 20],
                            "data_offsets": [0, 8 << 40]}}, b"\0" * 8)
    with pytest.raises(SafetensorsError, match="truncated"):
        load_safetensors(path)


@pytest.mark.parametrize("raw", [b"", b"\x01\x02", b"\x04\0\0\0\0\0\0\0\xff\xfe\0\0",
                                 b"\x02\0\0\0\0\0\0\0{x"])
def test_garbage_is_not_safetensors(tmp_path, raw):
    path = tmp_path / "g.st"
    path.write_bytes(raw)
    with pytest.raises(SafetensorsError, match="not a safetensors file"):
        load_safetensors(path)


def test_padding_spaces_after_the_header_are_allowed(tmp_path):
    path = tmp_path / "p.st"
    _write_raw(path, GOOD, np.array([1.5, -2], np.float32).tobytes(), pad=5)
    np.testing.assert_array_equal(load_safetensors(path)["a"], [1.5, -2])
