"""Config kinds embedding, rnn, lstm, gru, bidirectional: validation and building."""

from __future__ import annotations

import numpy as np
import pytest

from deepgrad import nn
from deepgrad.cli.errors import ConfigError
from deepgrad.cli.layers import LAYER_KINDS, build_model, validate_model


def test_kinds_are_registered():
    assert {"embedding", "rnn", "lstm", "gru", "bidirectional"} <= set(LAYER_KINDS)


def test_text_classifier_config_builds_and_runs():
    spec = validate_model([
        {"embedding": {"input_dim": 20, "output_dim": 4, "padding_idx": 0}},
        {"bidirectional": {"layer": {"lstm": {"units": 5, "return_sequences": True}},
                           "merge_mode": "sum"}},
        {"gru": {"units": 3, "return_sequences": True}},
        {"rnn": {"units": 2, "activation": "relu", "go_backwards": True, "bias": False}},
        {"dense": 2},
    ])
    assert spec[3]["rnn"]["use_bias"] is False  # PyTorch alias accepted
    model = build_model(spec, (7,))
    kinds = [type(m) for m in model]
    assert kinds[:3] == [nn.Embedding, nn.Bidirectional, nn.GRULayer]
    y = model(np.array([[1, 2, 3, 0, 0, 0, 0]]))
    assert y.shape == (1, 2)


def test_recurrent_on_feature_sequences():
    model = build_model(validate_model([{"lstm": {"units": 4}}, {"dense": 1}]), (6, 3))
    assert model(np.zeros((2, 6, 3), dtype=np.float32)).shape == (2, 1)


@pytest.mark.parametrize("spec,match", [
    ([{"bidirectional": {"layer": "flatten"}}], "recurrent layer"),
    ([{"rnn": {"units": 3, "activation": "sigmoid"}}], "activation"),
    ([{"embedding": {"input_dim": 3}}], "output_dim"),
    ([{"embedding": {"input_dim": 3, "output_dim": 2, "padding_idx": 3}}], "padding_idx"),
    ([{"bidirectional": {"layer": {"gru": 2}, "merge_mode": "max"}}], "merge_mode"),
])
def test_bad_configs(spec, match):
    with pytest.raises(ConfigError, match=match):
        validate_model(spec)


def test_recurrent_needs_sequence_input():
    with pytest.raises(ConfigError, match="sequence input"):
        build_model(validate_model([{"lstm": 3}]), (7,))
    with pytest.raises(ConfigError, match="token ids"):
        build_model(validate_model([{"embedding": {"input_dim": 3, "output_dim": 2}}]), (7, 2))
