#!/usr/bin/env python3
"""Regenerates models.example/: a tiny PEFT LoRA adapter with a real safetensors file,
a tiny BF16 base model it fits, a modelkeep.json, a few evolution snapshots and a
training data file. Deterministic (fixed seed), standard
library only. usage: scripts/make-example.py [DEST]   (default: models.example)"""
import json
import random
import struct
import sys
from pathlib import Path

HIDDEN = 64
RANK = 4
LAYERS = 2
MODULES = ("q_proj", "v_proj")


def bf16_bits(value):
    """float -> bfloat16 bits, rounding to nearest even."""
    bits = struct.unpack("<I", struct.pack("<f", value))[0]
    return (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16


def safetensors_bytes(tensors, metadata, dtype="F32"):
    """tensors: list of (name, shape, floats); returns the file's bytes (F32 or BF16)."""
    header = {"__metadata__": metadata}
    data = bytearray()
    for name, shape, values in tensors:
        begin = len(data)
        if dtype == "BF16":
            data += struct.pack("<%dH" % len(values), *[bf16_bits(v) for v in values])
        else:
            data += struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [begin, len(data)]}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes
    return struct.pack("<Q", len(text)) + text + bytes(data)


def adapter_tensors(rng):
    tensors = []
    for layer in range(LAYERS):
        for module in MODULES:
            prefix = "base_model.model.model.layers.%d.self_attn.%s" % (layer, module)
            a = [rng.gauss(0.0, 0.02) for _ in range(RANK * HIDDEN)]
            b = [rng.gauss(0.0, 0.01) for _ in range(HIDDEN * RANK)]
            tensors.append((prefix + ".lora_A.weight", [RANK, HIDDEN], a))
            tensors.append((prefix + ".lora_B.weight", [HIDDEN, RANK], b))
    return tensors


def base_tensors(rng):
    tensors = [("model.embed_tokens.weight", [32, HIDDEN], [rng.gauss(0.0, 0.02) for _ in range(32 * HIDDEN)])]
    for layer in range(LAYERS):
        for module in ("q_proj", "k_proj", "v_proj", "o_proj"):
            name = "model.layers.%d.self_attn.%s.weight" % (layer, module)
            tensors.append((name, [HIDDEN, HIDDEN], [rng.gauss(0.0, 0.05) for _ in range(HIDDEN * HIDDEN)]))
        tensors.append(("model.layers.%d.input_layernorm.weight" % layer, [HIDDEN], [1.0] * HIDDEN))
    tensors.append(("model.norm.weight", [HIDDEN], [1.0] * HIDDEN))
    return tensors


def main():
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "models.example")
    rng = random.Random(20251116)
    model = dest / "current_model"
    model.mkdir(parents=True, exist_ok=True)
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": "example/tiny-base-64",
        "r": RANK,
        "lora_alpha": 2 * RANK,
        "lora_dropout": 0.05,
        "target_modules": list(MODULES),
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
    }
    (model / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (model / "adapter_model.safetensors").write_bytes(
        safetensors_bytes(adapter_tensors(rng), {"format": "pt"}))

    base = dest / "base_model"
    base.mkdir(exist_ok=True)
    base_config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": HIDDEN,
                   "num_hidden_layers": LAYERS, "vocab_size": 32, "torch_dtype": "bfloat16"}
    (base / "config.json").write_text(json.dumps(base_config, indent=2) + "\n")
    (base / "tokenizer.json").write_text(json.dumps({"model": {"vocab": {"<s>": 0}}}) + "\n")
    (base / "model.safetensors").write_bytes(
        safetensors_bytes(base_tensors(random.Random(7)), {"format": "pt"}, "BF16"))
    settings = {"base_model": "base_model", "adapter_dir": "current_model", "store": "models"}
    (dest / "modelkeep.json").write_text(json.dumps(settings, indent=2) + "\n")

    snapshots = dest / "evolution_snapshots"
    snapshots.mkdir(exist_ok=True)
    loss = 2.1
    for step in (100, 200, 300):
        loss *= 0.7
        snapshot = {"step": step, "loss": round(loss, 4), "learning_rate": 2e-4, "epoch": step / 300}
        (snapshots / ("step_%04d.json" % step)).write_text(json.dumps(snapshot, indent=2) + "\n")

    data = dest / "training_data"
    data.mkdir(exist_ok=True)
    with open(data / "math_examples.jsonl", "w") as out:
        for i in range(1, 21):
            out.write(json.dumps({"prompt": "What is %d + %d?" % (i, 2 * i), "completion": str(3 * i)}) + "\n")


if __name__ == "__main__":
    main()
