"""The catalog JSON files as text: json.loads keeps the last of two equal keys silently, so check for duplicates."""

from __future__ import annotations

import json
from importlib import resources

import pytest

FILES = ["gpus.json", "models.json", "precisions.json"]


def _no_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"duplicate keys {duplicates}")
    return dict(pairs)


@pytest.mark.parametrize("filename", FILES)
def test_no_duplicate_keys(filename):
    text = resources.files("sizing").joinpath("data", filename).read_text(encoding="utf-8")
    json.loads(text, object_pairs_hook=_no_duplicate_keys)


def test_duplicate_key_detector_can_fail():
    with pytest.raises(ValueError, match="duplicate keys \\['layers'\\]"):
        json.loads('{"layers": 80, "layers": 32}', object_pairs_hook=_no_duplicate_keys)
