"""Reads the CUDA check's goldens (src/test/cuda/goldens/*.safetensors, written by org.vlmr1.kernels.CudaGoldens).

A minimal safetensors reader (8-byte little-endian header length, JSON header, raw little-endian data), because the
GPU machine is not guaranteed to have the safetensors package. Tensors are named "<case>.<tensor>"; the metadata
lists the cases ("cases", comma-separated) and gives each case's parameters as a JSON object under its name.
"""
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN_DIR = os.path.join(HERE, "goldens")

_DTYPES = {
    "F32": torch.float32,
    "BF16": torch.bfloat16,
    "F64": torch.float64,
    "I64": torch.int64,
    "I32": torch.int32,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def read_safetensors(path):
    """Returns ({name: CPU tensor}, {metadata key: str})."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dtype = _DTYPES[e["dtype"]]
        raw = bytearray(blob[base + begin:base + end])
        flat = torch.frombuffer(raw, dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
        t = flat.view(dtype) if dtype != torch.uint8 else flat
        tensors[name] = t.reshape(e["shape"]).clone()
    return tensors, meta


class GoldenFile:
    """One golden file: its cases in order, each with its parameters and tensors."""

    def __init__(self, name):
        self.name = name
        self.tensors, self.meta = read_safetensors(os.path.join(GOLDEN_DIR, name))
        self.cases = [c for c in self.meta.get("cases", "").split(",") if c]

    def params(self, case):
        return json.loads(self.meta[case])

    def get(self, case, tensor):
        return self.tensors[case + "." + tensor]


def load_all():
    """{file stem: GoldenFile} for the six golden files."""
    names = ["token_logprobs", "grpo_loss", "group_advantages", "images", "sample_draw", "top_p_filter"]
    return {n: GoldenFile(n + ".safetensors") for n in names}
