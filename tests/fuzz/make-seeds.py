#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/). The seeds are
checked in; run this again only to regenerate them. Inputs that once broke a parser are added
to the corpus by hand (or by `make fuzz`) and stay there as regression tests."""
import io
import json
import os
import struct
import tarfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(header, payload=b"", length=None):
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text) if length is None else length) + text + payload


deep = "[" * 10000 + "]" * 10000
deep_obj = '{"a":' * 10000 + "1" + "}" * 10000

# safetensors
good = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "__metadata__": {"format": "pt"}}
put("safetensors", "valid", safetensors(good, b"\0" * 8))
put("safetensors", "bf16-two", safetensors({"a": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]},
                                             "b": {"dtype": "BF16", "shape": [2], "data_offsets": [8, 12]}}, b"\1" * 12))
put("safetensors", "header-2GB", struct.pack("<Q", 2 << 30) + b"{}")
put("safetensors", "offset-2^63", safetensors({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 2**63]}}, b"\0" * 8))
put("safetensors", "shape-overflow", safetensors({"w": {"dtype": "F32", "shape": [2**32, 2**32, 2**32], "data_offsets": [0, 8]}}, b"\0" * 8))
put("safetensors", "deep-header", struct.pack("<Q", len(deep)) + deep.encode())
put("safetensors", "overlap", safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12))
put("safetensors", "empty", b"")

# model index
put("model_index", "valid", json.dumps({"metadata": {"total_size": 8}, "weight_map": {"w": "model-00001-of-00001.safetensors"}}))
put("model_index", "escape", json.dumps({"weight_map": {"w": "../../etc/passwd"}}))
put("model_index", "wrong-types", json.dumps({"weight_map": ["w"], "metadata": 3}))
put("model_index", "deep", deep_obj)

# adapter_config.json
src = os.path.join(HERE, "..", "..", "..", "shared", "testdata", "adapters")
if os.path.isdir(src):
    for name in sorted(os.listdir(src))[:4]:
        path = os.path.join(src, name, "adapter_config.json")
        if os.path.exists(path):
            put("adapter_config", name, open(path, "rb").read())
put("adapter_config", "minimal", json.dumps({"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj"]}))
put("adapter_config", "negative-r", json.dumps({"peft_type": "LORA", "r": -1, "lora_alpha": 16, "target_modules": "all-linear"}))
put("adapter_config", "pattern", json.dumps({"peft_type": "LORA", "r": 4, "rank_pattern": {"q": 2**70}, "alpha_pattern": {"q": "x"}}))
put("adapter_config", "deep", deep)

# metadata.json / backup.json
manifest = [{"path": "adapter/adapter_model.safetensors", "size": 8, "mode": 420, "sha256": "a" * 64}]
put("metadata", "version", json.dumps({"schema_version": 1, "id": "v001", "name": "v001_20251116_143000_x", "number": 1,
                                       "created_at": "2025-11-16T14:30:00Z", "description": "x", "files": manifest,
                                       "file_count": 1, "total_size": 8, "metrics": {"f1_score": 0.9}}))
put("metadata", "backup", json.dumps({"schema_version": 1, "type": "emergency", "name": "a_20251116_143000", "format": "dir",
                                      "source": "/x", "files": manifest, "file_count": 1, "total_size": 8,
                                      "critical_files": ["adapter/adapter_model.safetensors"]}))
put("metadata", "wrong-types", json.dumps({"schema_version": "1", "files": {"a": 1}, "file_count": -1}))
put("metadata", "path-escape", json.dumps({"schema_version": 1, "files": [dict(manifest[0], path="../../x")], "file_count": 1, "total_size": 8}))
put("metadata", "deep", deep_obj)

# list_index: versions/index.json as build_index writes it (the harness makes version 1)
summary = {"created_at": "2025-11-16T14:30:00Z", "description": "from the index", "file_count": 1, "total_size": 1024,
           "steps": None, "final_loss": 0.25, "metrics": {"f1": 0.5}, "status": "staging", "semver": "",
           "tags": {"team": "a"}, "manifest_digest": "ab" * 32, "parent_version": None}
index = {"schema_version": 1, "versions": {"v001_20251116_143000_run": {"stamp": "1:2:3.4", "summary": summary}},
         "stages": {}, "latest": "v001_20251116_143000_run"}
put("list_index", "valid", json.dumps(index))
put("list_index", "wrong-types", json.dumps(dict(index, versions={"v001_20251116_143000_run": {
    "stamp": 7, "summary": dict(summary, file_count=-1, metrics={"f1": "x"}, tags=[1])}})))
put("list_index", "big-numbers", json.dumps(dict(index, versions={"v001_20251116_143000_run": {
    "stamp": "s", "summary": dict(summary, file_count=2**64, total_size=2**70, steps=-2**63)}})))
put("list_index", "deep", deep_obj)
put("list_index", "truncated", json.dumps(index)[:200])

# names
for i, text in enumerate(["v3", "3", "v003", "latest", "production", "1.2.0-rc.1+b", "v1_20251116_143000_x", "../x",
                          "a" * 300, "a\0b", "v99999999999999999999999", "ab", "prod/uction", ""]):
    put("names", "n%02d" % i, text)


def tar_with(members, compress=True):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    return raw  # libarchive reads plain tar as well as tar.zst


def entry(name, data=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.linkname = link
    info.mode = 0o644
    return info, (data if kind == tarfile.REGTYPE else None)


put("archive", "valid", tar_with([entry("adapter/adapter_model.safetensors", b"weights"), entry("adapter/config.json", b"{}")]))
put("archive", "dotdot", tar_with([entry("../escape", b"x")]))
put("archive", "absolute", tar_with([entry("/tmp/modelkeep-fuzz-absolute", b"x")]))
put("archive", "symlink", tar_with([entry("link", kind=tarfile.SYMTYPE, link="/etc/passwd"), entry("link/x", b"x")]))
put("archive", "hardlink", tar_with([entry("hard", kind=tarfile.LNKTYPE, link="/etc/passwd")]))
put("archive", "device", tar_with([entry("dev", kind=tarfile.CHRTYPE)]))
put("archive", "truncated", tar_with([entry("a", b"x" * 5000)])[:1500])
