"""Writes the weights-only PyTorch models in testdata/pytorch/.

Run from the repository root:  /usr/bin/python3 testdata/gen/gen_pytorch.py

A Hugging Face model saved without safetensors (save_pretrained(...,
safe_serialization=False)) is a folder with config.json and pytorch_model.bin,
a torch.save of the model's state_dict (an OrderedDict of parameter name ->
tensor). These are what `ckptinspect verify` and `stats` read as a
weights-only checkpoint (no optimizer state):

  pytorch/good/   config.json + pytorch_model.bin: a small YuLan-Mini-shaped model's
                  bf16 weights (1 layer, hidden 16, intermediate 40, 2 heads, 1 KV head,
                  vocab 32; the values of ckptmodel.gen_fp32, rounded to bfloat16)
  pytorch/bad/    the same config, and the same weights except: one NaN and two +Inf
                  in model.layers.0.mlp.up_proj.weight (flat indices 5, 7, 9), and
                  model.layers.0.mlp.down_proj.weight of shape [16, 36] where the
                  config gives [16, 40] (the last 4 columns dropped)
"""

import json
import math
import os
import sys
from collections import OrderedDict

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import ckptmodel as cm  # noqa: E402

OUT = os.path.join(os.path.dirname(HERE), "pytorch")
LAYERS, HIDDEN, INTER, HEADS, KV, VOCAB, SEED = 1, 16, 40, 2, 1, 32, 7


def config():
    return OrderedDict([
        ("architectures", ["YuLanMiniForCausalLM"]), ("model_type", "yulanmini"),
        ("attention_bias", True), ("hidden_act", "silu"), ("hidden_size", HIDDEN),
        ("intermediate_size", INTER), ("num_hidden_layers", LAYERS), ("num_attention_heads", HEADS),
        ("num_key_value_heads", KV), ("vocab_size", VOCAB), ("max_position_embeddings", 4096),
        ("rms_norm_eps", 1e-06), ("rope_theta", 10000.0), ("tie_word_embeddings", False),
        ("scale_emb", 10.0), ("hidden_states_shrink", 1.0 / math.sqrt(LAYERS)),
        ("wesar_weights", True), ("use_norm_alpha", True), ("torch_dtype", "bfloat16"),
    ])


def state_dict():
    sd = OrderedDict()
    for name, shape, _, kind in cm.param_specs(LAYERS, HIDDEN, INTER, HEADS, KV, VOCAB):
        sd[name] = cm.bf16_round(cm.gen_fp32(SEED, name, shape, kind, LAYERS))
    return sd


def write(sub, sd):
    d = os.path.join(OUT, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config(), f, indent=2)
        f.write("\n")
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    print(f"wrote {d}: {len(sd)} tensors")


def main():
    write("good", state_dict())
    sd = state_dict()
    up = sd["model.layers.0.mlp.up_proj.weight"].clone()
    flat = up.view(-1)
    flat[5] = float("nan")
    flat[7] = float("inf")
    flat[9] = float("inf")
    sd["model.layers.0.mlp.up_proj.weight"] = up
    sd["model.layers.0.mlp.down_proj.weight"] = sd["model.layers.0.mlp.down_proj.weight"][:, :INTER - 4].clone()
    write("bad", sd)


if __name__ == "__main__":
    main()
