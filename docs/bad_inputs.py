"""Regenerate docs/bad_inputs.md: run every bad input below and record what deepgrad says.

    python docs/bad_inputs.py          # about a minute; writes docs/bad_inputs.md

Each case names the test that keeps it so. Commands run in a scratch directory holding a
small trained model (``tiny/model.dg``), its config (``tiny.yaml``) and a few bad files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TINY = """name: tiny
seed: 0
data: {source: planar, options: {m: 40}}
model: [{dense: {units: 4, activation: tanh}}, {dense: {units: 1, activation: sigmoid}}]
optimizer: {name: sgd, lr: 0.5}
epochs: 2
batch_size: full
"""

# (area, case, command or python code, test)
CASES: list[tuple[str, str, str, str]] = [
    ("Outputs", "a second run into an `--out` that holds files",
     "deepgrad train tiny.yaml --out tiny -q",
     "cli/test_runs.py::test_out_with_files_is_refused_and_overwrite_replaces_the_whole_run"),
    ("Outputs", "a run name with a path in it", "deepgrad train evil.yaml",
     "cli/test_runs.py::test_run_name_must_be_plain"),
    ("Outputs", "`--out` naming a file", "deepgrad train tiny.yaml --out tiny.yaml",
     "cli/test_runs.py::test_two_runs_into_one_new_out_without_overwrite"),
    ("Outputs", "`predict -o` naming a directory", "deepgrad predict tiny/model.dg planar -o .",
     "cli/test_errors.py::test_errors_name_the_real_cause"),
    ("Config", "malformed YAML", "deepgrad train broken.yaml",
     "cli/test_errors.py::test_malformed_yaml"),
    ("Config", "`units: ten`", "deepgrad train ten.yaml",
     "cli/test_errors.py::test_bad_config_values"),
    ("Config", "an unknown layer", "deepgrad train dense4.yaml",
     "cli/test_errors.py::test_bad_config_values"),
    ("Config", "a directory given as the config", "deepgrad train tiny",
     "cli/test_errors.py::test_errors_name_the_real_cause"),
    ("Config", "`--lr inf`", "deepgrad train tiny.yaml --lr inf",
     "cli/test_errors.py::test_bad_command_line_option"),
    ("Config", "`lr: .nan` in the config", "deepgrad train nanlr.yaml",
     "cli/test_errors.py::test_non_finite_hyperparameters_are_refused"),
    ("Config", "`gamma: .inf` in a schedule", "deepgrad train gamma.yaml",
     "cli/test_errors.py::test_schedule_settings_must_be_finite"),
    ("Config", "`augment:` on flat (non-image) inputs", "deepgrad train augflat.yaml",
     "cli/test_augment.py::test_augmentation_needs_images"),
    ("Config", "an unknown `augment:` key", "deepgrad train augkey.yaml",
     "cli/test_augment.py::test_bad_sections_name_the_key"),
    ("Data", "training data with zero rows", "deepgrad train zero.yaml",
     "cli/test_errors.py::test_errors_name_the_real_cause"),
    ("Data", "a CSV with 3 features for a 2-feature model",
     "deepgrad predict tiny/model.dg three.csv",
     "cli/test_errors.py::test_data_that_does_not_fit_the_model"),
    ("Data", "labels the model has no class for (3 spirals, a binary model)",
     "deepgrad evaluate tiny/model.dg spirals",
     "cli/test_errors.py::test_data_that_does_not_fit_the_model"),
    ("Data", "MNIST files not there", "DEEPGRAD_DATA=/nowhere DEEPGRAD_CACHE=/nowhere "
     "deepgrad evaluate tiny/model.dg mnist:test",
     "cli/test_errors.py::test_missing_dataset_files"),
    ("Data", "evaluating on zero rows", "deepgrad evaluate tiny/model.dg zero.npz",
     "cli/test_errors.py::test_errors_name_the_real_cause"),
    ("Training", "a diverging run with a metric (`sgd lr 1e6`, `metrics: [mae]`)",
     "deepgrad train diverge.yaml -q",
     "cli/test_runs.py::test_failed_run_leaves_no_empty_directory"),
    ("Model files", "a directory given as the model", "deepgrad evaluate tiny planar",
     "test_io_limits.py::test_directory_is_not_a_model_file"),
    ("Model files", "a text file given as the model", "deepgrad summary tiny.yaml",
     "test_io_limits.py::test_file_that_is_not_a_zip"),
    ("Model files", "a 1 KB file declaring `Dense(60000, input_dim=20000)`",
     "deepgrad evaluate big.dg planar",
     "test_io_limits.py::test_huge_declared_architecture_fails_before_allocating"),
    ("Model files", "an npy header declaring (10^6, 10^6) in a few bytes",
     "deepgrad summary header.dg",
     "test_io_limits.py::test_npy_header_declaring_more_than_the_entry_holds"),
    ("Model files", "a model whose weights are NaN", "deepgrad evaluate nan.dg planar",
     "cli/test_errors.py::test_a_model_with_non_finite_weights"),
    ("Model files", "a state dict given as a model", "deepgrad summary state.dg",
     "test_io.py::test_state_dict_file_is_not_a_model_and_other_objects_are_refused"),
    ("gradcheck", "`--examples 0`", "deepgrad gradcheck tiny.yaml --examples 0",
     "cli/test_gradcheck.py::test_bad_option_values_are_refused"),
    ("gradcheck", "`--eps -1`", "deepgrad gradcheck tiny.yaml --eps -1",
     "cli/test_gradcheck.py::test_bad_option_values_are_refused"),
    ("Python API", "`dg.save` of a state dict with a `..` key",
     "import deepgrad as dg, numpy as np; dg.save({'../w': np.zeros(2)}, 'w.dg')",
     "test_io.py::test_bad_state_dict_is_one_clear_error"),
    ("Python API", "`fit(loader, y)`: targets given twice",
     "import deepgrad as dg, numpy as np; m = dg.nn.Sequential(dg.nn.Linear(2, 1)); "
     "m.compile(loss='mse'); X = np.zeros((8, 2), np.float32); "
     "m.fit(dg.data.DataLoader(dg.data.ArrayDataset(X, X[:, :1])), X[:, :1])",
     "train/test_loaders.py::test_loader_errors_name_the_batch"),
    ("Python API", "a generator for several epochs without `steps_per_epoch`",
     "import deepgrad as dg, numpy as np; m = dg.nn.Sequential(dg.nn.Linear(2, 1)); "
     "m.compile(loss='mse'); X = np.zeros((8, 2), np.float32); "
     "m.fit(((X, X[:, :1]) for _ in range(3)), epochs=2)",
     "train/test_loaders.py::test_one_shot_generator_needs_steps_per_epoch"),
    ("Python API", "a batch with NaN inside a loader",
     "import deepgrad as dg, numpy as np; m = dg.nn.Sequential(dg.nn.Linear(2, 1)); "
     "m.compile(loss='mse'); X = np.zeros((8, 2), np.float32); X[5, 1] = np.nan; "
     "m.fit(dg.data.DataLoader(dg.data.ArrayDataset(X, X[:, :1]), batch_size=4))",
     "train/test_loaders.py::test_loader_errors_name_the_batch"),
    ("Python API", "`set_num_threads(0)`", "import deepgrad as dg; dg.set_num_threads(0)",
     "test_threads.py"),
]


def _setup(d: Path) -> None:
    """The scratch directory: a trained model and the bad files the cases use."""
    (d / "tiny.yaml").write_text(TINY)
    _run(d, "deepgrad train tiny.yaml --out tiny -q")
    (d / "broken.yaml").write_text("data: planar\nmodel: [relu\n")
    (d / "ten.yaml").write_text(TINY.replace("units: 4", "units: ten"))
    (d / "dense4.yaml").write_text(TINY.replace("{dense: {units: 4", "{dense4: {units: 4"))
    (d / "three.csv").write_text("a,b,c\n1,2,3\n4,5,6\n")
    (d / "evil.yaml").write_text(TINY.replace("name: tiny", "name: ../../x"))
    (d / "nanlr.yaml").write_text(TINY.replace("lr: 0.5", "lr: .nan"))
    (d / "gamma.yaml").write_text(TINY + "schedule: {name: step, step_size: 1, gamma: .inf}\n")
    (d / "augflat.yaml").write_text(TINY + "augment: {horizontal_flip: true}\n")
    (d / "augkey.yaml").write_text(TINY + "augment: {flip: true}\n")
    np.savez(d / "zero.npz", X=np.zeros((0, 2), np.float32), y=np.zeros(0, np.int64))
    (d / "zero.yaml").write_text("data: {source: npz, path: zero.npz}\nmodel: [{dense: 1}]\n")
    (d / "diverge.yaml").write_text("data: {source: regression}\nmodel: [{dense: 1}]\n"
                                    "loss: mse\nmetrics: [mae]\n"
                                    "optimizer: {name: sgd, lr: 1.0e+6}\nepochs: 5\n")
    _edit(d / "tiny/model.dg", d / "big.dg", _huge_dense)
    _edit(d / "tiny/model.dg", d / "header.dg", None, huge_header=True)
    code = ("import deepgrad as dg, numpy as np; ck = dg.io.load_checkpoint('tiny/model.dg'); "
            "m = ck['model']; next(iter(m.parameters())).data[0, 0] = np.nan; "
            "dg.save(m, 'nan.dg', metadata=ck['metadata']); "
            "dg.save(m.state_dict(), 'state.dg')")
    _run(d, f"python -c {json.dumps(code)}")


def _huge_dense(manifest: dict) -> None:
    layer = manifest["architecture"]["args"][0]["__module__"]
    layer["kwargs"].update({"units": 60000, "input_dim": 20000})


def _edit(src: Path, dst: Path, fn, huge_header: bool = False) -> None:
    with zipfile.ZipFile(src) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    manifest = json.loads(entries["manifest.json"])
    if fn is not None:
        fn(manifest)
    entries["manifest.json"] = json.dumps(manifest).encode()
    if huge_header:
        name = next(n for n in entries if n.endswith(".npy"))
        header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"
        header = header.ljust(118) + "\n"
        entries[name] = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + \
            header.encode() + b"\0" * 16
    with zipfile.ZipFile(dst, "w") as z:
        for n, b in entries.items():
            z.writestr(n, b)


def _run(d: Path, cmd: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "PATH": f"{Path(sys.executable).parent}:"
           f"{os.environ.get('PATH', '')}"}
    return subprocess.run(cmd, shell=True, cwd=d, capture_output=True, text=True, env=env,
                          timeout=300)


def _said(r: subprocess.CompletedProcess[str]) -> str:
    lines = [s for s in r.stderr.strip().splitlines() if s.strip()]
    return lines[-1] if lines else r.stdout.strip().splitlines()[-1]


def main() -> None:
    rows, area = [], None
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        _setup(d)
        for a, case, cmd, test in CASES:
            python = "deepgrad " not in cmd
            r = _run(d, f"python -c {json.dumps(cmd)}" if python else cmd)
            said = _said(r).replace(tmp, "…").replace("|", "\\|")
            shown = "(Python)" if python else f"`{cmd}`"
            if a != area:
                rows.append(f"| **{a}** | | | | |")
                area = a
            rows.append(f"| {case} | {shown} | {r.returncode} | {said} | `{test}` |")
    head = ("# Bad inputs and what deepgrad says\n\n"
            "Generated by `python docs/bad_inputs.py` (it runs each case); each row names\n"
            "the test that keeps it so. The command line prints one line and exits with 2;\n"
            "the Python API raises one exception whose message names the problem (a\n"
            "Python case's exit code is 1, the last line is the exception).\n\n"
            "| case | command | exit | what it prints | test |\n| --- | --- | --- | --- | --- |\n")
    (ROOT / "docs" / "bad_inputs.md").write_text(head + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
