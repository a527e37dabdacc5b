"""Train a tiny YuLan-Mini/Llama-shaped model with DeepSpeed's own engine on CPU and save
real DeepSpeed checkpoints (engine.save_checkpoint) at two steps.

Run through launch.py (make.sh does), with /usr/bin/python3 (Debian python3-torch 1.13), the
patched DeepSpeed source and this folder on PYTHONPATH, DS_ACCELERATOR=cpu DS_BUILD_OPS=0:
    /usr/bin/python3 launch.py 3 29511 train_ds.py --out DIR --stage 2 --dtype bf16
(launch.py 1 ... for one rank; `python -m torch.distributed.run` of torch 1.13 fails on
Python 3.11, see launch.py). Checkpoints: DIR/global_step4, DIR/global_step9, DIR/latest.

Parameter names and order follow YuLan-Mini's modeling_yulanmini.py (as
the project's testdata/gen/ckptmodel.py lists them): lm_head_alpha, model.norm_alpha (0-dim),
model.embed_tokens.weight, per layer 0-dim alphas and [1]-shaped self_attn.*_proj_alpha,
q/k/v projections with bias, o_proj, gate/up/down MLP, two RMSNorms; model.norm.weight,
lm_head.weight. Two param groups: 2-D weights with weight decay 0.1, everything else 0.
"""

import argparse
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

import deepspeed

import gloo_compat


class RMSNorm(nn.Module):
    def __init__(self, n, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        y = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return (y * self.weight.float()).to(x.dtype)


class Attention(nn.Module):
    def __init__(self, hidden, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.hd = heads, kv_heads, hidden // heads
        kv = kv_heads * self.hd
        # WeSaR scale factors with shape [1] (YuLan-Mini: torch.ones(1) * a)
        self.q_proj_alpha = nn.Parameter(torch.ones(1))
        self.k_proj_alpha = nn.Parameter(torch.ones(1))
        self.v_proj_alpha = nn.Parameter(torch.ones(1))
        self.o_proj_alpha = nn.Parameter(torch.ones(1))
        self.q_proj = nn.Linear(hidden, hidden, bias=True)
        self.k_proj = nn.Linear(hidden, kv, bias=True)
        self.v_proj = nn.Linear(hidden, kv, bias=True)
        self.o_proj = nn.Linear(hidden, hidden, bias=False)

    def forward(self, x):
        b, t, h = x.shape
        q = (self.q_proj(x) * self.q_proj_alpha).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = (self.k_proj(x) * self.k_proj_alpha).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        v = (self.v_proj(x) * self.v_proj_alpha).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        rep = self.heads // self.kv_heads
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=x.device), 1)
        att = att.masked_fill(mask, float("-inf")).float().softmax(-1).to(q.dtype)
        y = (att @ v).transpose(1, 2).reshape(b, t, h)
        return self.o_proj(y) * self.o_proj_alpha


class MLP(nn.Module):
    def __init__(self, hidden, inter):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.up_proj = nn.Linear(hidden, inter, bias=False)
        self.down_proj = nn.Linear(inter, hidden, bias=False)

    def forward(self, x, gu_alpha, d_alpha):
        return self.down_proj(F.silu(self.gate_proj(x) * gu_alpha) * (self.up_proj(x) * gu_alpha)) * d_alpha


# shape of YuLan-Mini's 0-dim WeSaR scale factors (torch.tensor(1) * a); --vector-alphas makes
# them [1] (DeepSpeed 0.15.1's ds_to_universal.py cannot convert 0-dim parameters)
SCALAR = ()


def scalar_param():
    return nn.Parameter(torch.ones(SCALAR))


class Layer(nn.Module):
    def __init__(self, hidden, inter, heads, kv_heads):
        super().__init__()
        self.gate_up_proj_alpha = scalar_param()
        self.down_proj_alpha = scalar_param()
        self.input_layernorm_alpha = scalar_param()
        self.post_attention_layernorm_alpha = scalar_param()
        self.self_attn = Attention(hidden, heads, kv_heads)
        self.mlp = MLP(hidden, inter)
        self.input_layernorm = RMSNorm(hidden)
        self.post_attention_layernorm = RMSNorm(hidden)

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x) * self.input_layernorm_alpha)
        x = x + self.mlp(self.post_attention_layernorm(x) * self.post_attention_layernorm_alpha,
                         self.gate_up_proj_alpha, self.down_proj_alpha)
        return x


class Inner(nn.Module):
    def __init__(self, vocab, hidden, inter, layers, heads, kv_heads):
        super().__init__()
        self.norm_alpha = scalar_param()
        self.embed_tokens = nn.Embedding(vocab, hidden)
        self.layers = nn.ModuleList([Layer(hidden, inter, heads, kv_heads) for _ in range(layers)])
        self.norm = RMSNorm(hidden)

    def forward(self, ids):
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x) * self.norm_alpha


class TinyLlama(nn.Module):
    def __init__(self, vocab=96, hidden=32, inter=80, layers=2, heads=4, kv_heads=2):
        super().__init__()
        self.lm_head_alpha = scalar_param()
        self.model = Inner(vocab, hidden, inter, layers, heads, kv_heads)
        self.lm_head = nn.Linear(hidden, vocab, bias=False)
        self.vocab = vocab

    def forward(self, ids, labels):
        logits = self.lm_head(self.model(ids)) * self.lm_head_alpha
        return F.cross_entropy(logits.float().view(-1, self.vocab), labels.view(-1))


def make_batch(gen, bsz, seqlen, vocab):
    # a learnable stream: next token = (a * tok + b) mod vocab with noise
    start = torch.randint(0, vocab, (bsz, 1), generator=gen)
    toks = [start]
    for _ in range(seqlen):
        nxt = (toks[-1] * 7 + 3) % vocab
        noise = torch.randint(0, vocab, nxt.shape, generator=gen)
        keep = torch.rand(nxt.shape, generator=gen) < 0.8
        toks.append(torch.where(keep, nxt, noise))
    seq = torch.cat(toks, 1)
    return seq[:, :-1].contiguous(), seq[:, 1:].contiguous()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--stage", type=int, default=2)
    ap.add_argument("--dtype", choices=["bf16", "fp16", "fp32"], default="bf16")
    ap.add_argument("--bf16-optimizer", action="store_true",
                    help="ZeRO-1 with data_types.grad_accum_dtype=fp32: DeepSpeed's BF16_Optimizer "
                    "(writes bf16_zero_pp_rank_* files)")
    ap.add_argument("--one-group", action="store_true", help="a single param group (weight decay 0.1)")
    ap.add_argument("--vector-alphas", action="store_true", help="the 0-dim alphas get shape [1]")
    ap.add_argument("--save-steps", default="4,9")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--vocab", type=int, default=96)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--inter", type=int, default=80)
    ap.add_argument("--bucket", type=int, default=5000,
                    help="ZeRO-1/2 reduce/allgather bucket size (elements)")
    ap.add_argument("--local_rank", type=int, default=-1)  # deepspeed launcher compatibility
    args = ap.parse_args()

    gloo_compat.install()  # torch 1.13 gloo: bf16, all_gather_into_tensor, reduce_scatter
    deepspeed.init_distributed(dist_backend="gloo")
    rank = torch.distributed.get_rank()
    world = torch.distributed.get_world_size()

    global SCALAR
    if args.vector_alphas:
        SCALAR = (1,)
    torch.manual_seed(args.seed)  # same initial weights on every rank
    model = TinyLlama(vocab=args.vocab, hidden=args.hidden, inter=args.inter)

    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    if args.one_group:
        # DeepSpeed 0.15.1's ds_to_universal.py reads only param group 0 of a ZeRO-3 checkpoint
        # (state[0], fp32_flat_groups[0]) while walking the parameters of all groups: with two
        # groups it fails ("start (N) + length (1) exceeds dimension size (N)"). One group here.
        groups = [{"params": list(model.parameters()), "weight_decay": 0.1}]
    opt = torch.optim.AdamW(groups, lr=3e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)

    cfg = {
        "train_micro_batch_size_per_gpu": 2,
        "gradient_accumulation_steps": 1,
        "gradient_clipping": 1.0,
        "steps_per_print": 1000,
        "wall_clock_breakdown": False,
        "zero_optimization": {"stage": args.stage},
        "scheduler": {"type": "WarmupLR",
                      "params": {"warmup_min_lr": 3e-4, "warmup_max_lr": 3e-3, "warmup_num_steps": 6,
                                 "warmup_type": "linear"}},
    }
    if args.stage in (1, 2):
        # small buckets so that several reduce/all-gather rounds happen even on this tiny model
        cfg["zero_optimization"].update({"reduce_bucket_size": args.bucket, "allgather_bucket_size": args.bucket})
    if args.stage == 3:
        cfg["zero_optimization"].update({"stage3_param_persistence_threshold": 0,
                                         "stage3_gather_16bit_weights_on_model_save": False})
    if args.dtype == "bf16":
        cfg["bf16"] = {"enabled": True}
    elif args.dtype == "fp16":
        cfg["fp16"] = {"enabled": True, "initial_scale_power": 8}
    if args.bf16_optimizer:
        cfg["data_types"] = {"grad_accum_dtype": "fp32"}

    engine, optimizer, _, sched = deepspeed.initialize(model=model, optimizer=opt, config=cfg)
    if rank == 0:
        print(f"engine optimizer: {type(optimizer).__module__}.{type(optimizer).__name__}; world {world}")

    gen = torch.Generator().manual_seed(args.seed * 100 + rank)  # different data per rank
    save_steps = sorted(int(s) for s in args.save_steps.split(","))
    for step in range(1, save_steps[-1] + 1):
        ids, labels = make_batch(gen, 2, 16, args.vocab)
        loss = engine(ids, labels)
        engine.backward(loss)
        engine.step()
        if rank == 0:
            print(f"step {step} global_steps {engine.global_steps} loss {loss.item():.4f} "
                  f"lr {sched.get_last_lr() if sched else None}", flush=True)
        if step in save_steps:
            engine.save_checkpoint(args.out, client_state={"realds_step": step})
    torch.distributed.barrier()
    if rank == 0:
        meta = {"stage": args.stage, "dtype": args.dtype, "world": world,
                "bf16_optimizer": args.bf16_optimizer, "one_group": args.one_group,
                "vector_alphas": args.vector_alphas, "save_steps": save_steps,
                "optimizer_class": f"{type(optimizer).__module__}.{type(optimizer).__name__}",
                "deepspeed": deepspeed.__version__, "torch": torch.__version__,
                "params": [[n, list(getattr(p, "ds_shape", p.shape))] for n, p in model.named_parameters()]}
        with open(args.out.rstrip("/") + ".meta.json", "w") as f:  # beside, not inside, the checkpoint
            json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
