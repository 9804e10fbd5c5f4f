"""The outside oracle of the conformance tier: transformers + PyTorch computing what the project computes.

Run by test/conformance/*.conformance.ts with the venv of scripts/conformance-setup.sh. Reads a JSON list of
operations on stdin, runs them in one process (torch imports once) and prints one JSON result per line.
Tensors travel as safetensors files. Nothing here is imported by the product.
"""

import json
import math
import re
import sys

import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModelForCausalLM

torch.set_num_threads(2)

# Small but complete configs: every layer kind, several SSD chunks per row, several B/C groups.
FAMILIES = {
    "nemotron_h": lambda: transformers.NemotronHConfig(
        vocab_size=300, hidden_size=64, hybrid_override_pattern="M-M*M-", num_attention_heads=4, num_key_value_heads=2,
        head_dim=16, intermediate_size=96, mamba_num_heads=8, mamba_head_dim=16, n_groups=2, ssm_state_size=16,
        conv_kernel=4, chunk_size=16, use_conv_bias=True, tie_word_embeddings=False),
    "mamba2": lambda: transformers.Mamba2Config(
        vocab_size=300, hidden_size=64, num_hidden_layers=3, num_heads=8, head_dim=16, expand=2, n_groups=2,
        state_size=16, conv_kernel=4, chunk_size=16, tie_word_embeddings=False),
    # Inspection-only families: parameter counts only.
    "bamba": lambda: transformers.BambaConfig(
        vocab_size=300, hidden_size=64, num_hidden_layers=4, attn_layer_indices=[1], num_attention_heads=4,
        num_key_value_heads=2, intermediate_size=96, mamba_n_heads=8, mamba_d_head=16, mamba_n_groups=2,
        mamba_d_state=16, mamba_expand=2),
    "zamba2": lambda: transformers.Zamba2Config(
        vocab_size=300, hidden_size=64, num_hidden_layers=4, layers_block_type=["mamba", "hybrid", "mamba", "hybrid"],
        num_attention_heads=4, num_key_value_heads=4, intermediate_size=96, mamba_d_state=16, mamba_headdim=16,
        mamba_ngroups=2, n_mamba_heads=8, num_mem_blocks=1, use_shared_attention_adapter=False, adapter_rank=8),
    "falcon_h1": lambda: transformers.FalconH1Config(
        vocab_size=300, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        head_dim=16, intermediate_size=96, mamba_d_ssm=128, mamba_n_heads=8, mamba_d_head=16, mamba_n_groups=2,
        mamba_d_state=16),
    "jamba": lambda: transformers.JambaConfig(
        vocab_size=300, hidden_size=64, num_hidden_layers=4, attn_layer_period=2, attn_layer_offset=1,
        expert_layer_period=2, expert_layer_offset=1, num_experts=4, num_experts_per_tok=2, num_attention_heads=4,
        num_key_value_heads=2, intermediate_size=96, mamba_d_state=8, mamba_d_conv=4, mamba_expand=2, mamba_dt_rank=8),
    "granitemoehybrid": lambda: transformers.GraniteMoeHybridConfig(
        vocab_size=300, hidden_size=64, num_hidden_layers=4, layer_types=["mamba", "attention", "mamba", "attention"],
        num_attention_heads=4, num_key_value_heads=2, intermediate_size=96, shared_intermediate_size=96,
        num_local_experts=4, num_experts_per_tok=2, mamba_n_heads=8, mamba_d_head=16, mamba_n_groups=2,
        mamba_d_state=16, mamba_expand=2),
}


def unique_params(model):
    # Module.parameters() yields each Parameter once, so tied weights count once.
    return sum(p.numel() for p in model.parameters())


def op_save(o):
    torch.manual_seed(o.get("seed", 0))
    config = FAMILIES[o["family"]]()
    model = AutoModelForCausalLM.from_config(config)
    with torch.no_grad():
        # transformers initialises norms to 1, D to 1 and A_log to log(1..H): perturb them so every score
        # (and every gradient) depends on the values actually stored.
        for name, p in model.named_parameters():
            if p.ndim == 1 or name.endswith(("A_log", "D", "dt_bias")):
                p.add_(0.1 * torch.randn_like(p))
            else:
                p.normal_(0, 0.08)
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[o.get("dtype", "float32")]
    model.to(dtype).save_pretrained(o["out"])
    return {"params": unique_params(model), "config_class": type(config).__name__}


def load(path, dtype=torch.float32):
    model, info = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, output_loading_info=True)
    model.eval()
    problems = {k: [str(x) for x in v] for k, v in info.items() if v}
    return model, problems


def read_ids(path):
    with open(path) as f:
        rows = [json.loads(line)["input_ids"] for line in f if line.strip()]
    return torch.tensor(rows, dtype=torch.long)


def op_logits(o):
    # float64 on request: tells transformers' own float32 rounding apart from a real difference.
    model, problems = load(o["model"], torch.float64 if o.get("float64") else torch.float32)
    ids = read_ids(o["ids"])
    with torch.no_grad():
        # use_cache=False: transformers' hybrid cache fails on a model whose pruning removed every attention layer.
        logits = model(input_ids=ids, use_cache=False).logits.float()
    save_file({"logits": logits.contiguous()}, o["out"])
    return {"problems": problems, "params": unique_params(model), "shape": list(logits.shape)}


def op_config(o):
    """Loads config.json through transformers' strict config class; reports what it refuses."""
    try:
        config = AutoConfig.from_pretrained(o["model"])
        return {"ok": True, "class": type(config).__name__}
    except Exception as e:  # noqa: BLE001 - the message is the result
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


def op_meta(o):
    """For checkpoints too large to materialise: the config class accepts the config, and a model built
    on the meta device has exactly the tensors (names and shapes) of the safetensors files."""
    config = AutoConfig.from_pretrained(o["model"])
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    expected = {k: list(v.shape) for k, v in model.state_dict().items()}
    if getattr(config, "tie_word_embeddings", False):
        expected.pop("lm_head.weight", None)
    found = {k: shape for k, (_disk, shape) in checkpoint_keys(o["model"], config.model_type).items()}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    mismatched = sorted(k for k in expected if k in found and expected[k] != found[k])
    return {"class": type(config).__name__, "params": sum(math.prod(s) for s in expected.values()), "missing": missing[:5],
            "unexpected": unexpected[:5], "mismatched": mismatched[:5]}


def checkpoint_keys(path, model_type):
    """{name as the model calls it: (name on disk, shape)}. from_pretrained renames checkpoint keys first
    (e.g. nemotron_h's "backbone." → "model.", transformers/conversion_mapping.py): do the same."""
    import glob
    import os

    from transformers.conversion_mapping import get_checkpoint_conversion_mapping
    from transformers.core_model_loading import WeightRenaming

    renames = [(s, t) for m in (get_checkpoint_conversion_mapping(model_type) or []) if isinstance(m, WeightRenaming)
               for s, t in zip(m.source_patterns, m.target_patterns)]
    out = {}
    for f in sorted(glob.glob(os.path.join(path, "*.safetensors"))):
        with safe_open(f, "pt") as st:
            for k in st.keys():
                name = k
                for s, t in renames:
                    name = re.sub(s, t, name)
                out[name] = (k, list(st.get_slice(k).get_shape()))
    return out


def op_calib(o):
    """The project's calibration statistics with forward hooks (research/paper.md §2.2, §3): per tap,
    s[c] = sqrt(Σ_rows (mean_t |a|)²); FLAP: ‖W[:, j]‖² · Var(x_j) over all tokens; depth: mean over tokens of
    1 − cos(block input, block output)."""
    model, problems = load(o["model"])
    cfg = model.config
    ids = read_ids(o["ids"])
    layers = model.base_model.layers
    acts = {}
    hooks = []

    def keep(key):
        def f(_m, inp, out):
            acts[key] = (out if key.endswith("norm") or key.endswith("in_proj") else inp[0]).detach().float()
        return f

    def keep_block(n):
        def f(_m, inp, out):
            acts[f"{n}.in"] = inp[0].detach().float()
            acts[f"{n}.out"] = (out[0] if isinstance(out, tuple) else out).detach().float()
        return f

    for n, block in enumerate(layers):
        hooks.append(block.norm.register_forward_hook(keep(f"{n}.norm")))
        hooks.append(block.register_forward_hook(keep_block(n)))
        mixer = block.mixer
        if hasattr(mixer, "in_proj"):
            hooks.append(mixer.in_proj.register_forward_hook(keep(f"{n}.in_proj")))
            hooks.append(mixer.out_proj.register_forward_hook(keep(f"{n}.out_proj_input")))
        elif hasattr(mixer, "down_proj"):
            hooks.append(mixer.down_proj.register_forward_hook(keep(f"{n}.down_proj_input")))
        elif hasattr(mixer, "o_proj"):
            hooks.append(mixer.o_proj.register_forward_hook(keep(f"{n}.o_proj_input")))
    with torch.no_grad():
        model(input_ids=ids, use_cache=False)
    for h in hooks:
        h.remove()

    def score(a):  # [rows, seq, width] -> [width]
        return a.abs().double().mean(dim=1).pow(2).sum(dim=0).sqrt()

    def flap(a, w):
        x = a.double().reshape(-1, a.shape[-1])
        return w.double().pow(2).sum(dim=0) * x.var(dim=0, unbiased=False)

    out = {}
    emb = 0
    bi = []
    for n, block in enumerate(layers):
        emb = emb + score(acts[f"{n}.norm"])
        a, b = acts[f"{n}.in"].double(), acts[f"{n}.out"].double()
        eps = 1e-8
        cos = (a * b).sum(-1) / (a.norm(dim=-1).clamp_min(eps) * b.norm(dim=-1).clamp_min(eps))
        bi.append((1 - cos).mean().item())
        mixer = block.mixer
        if f"{n}.in_proj" in acts:
            H = mixer.num_heads
            P = mixer.head_dim
            inner = H * P
            s = score(acts[f"{n}.in_proj"][..., inner:2 * inner]).reshape(H, P)
            out[f"layers.{n}.mamba.activations"] = s
            out[f"layers.{n}.mamba.channels"] = s.pow(2).sum(0).sqrt()
            out[f"layers.{n}.mamba.heads"] = s.pow(2).sum(1).sqrt()
            out[f"layers.{n}.mamba.flap"] = flap(acts[f"{n}.out_proj_input"], mixer.out_proj.weight).reshape(H, P).sum(1)
        elif f"{n}.down_proj_input" in acts:
            out[f"layers.{n}.mlp.neurons"] = score(acts[f"{n}.down_proj_input"])
            out[f"layers.{n}.mlp.flap"] = flap(acts[f"{n}.down_proj_input"], mixer.down_proj.weight)
        elif f"{n}.o_proj_input" in acts:
            hd = cfg.head_dim
            out[f"layers.{n}.attention.heads"] = score(acts[f"{n}.o_proj_input"]).reshape(-1, hd).pow(2).sum(1).sqrt()
    out["embedding.channels"] = emb
    out["depth.block_importance"] = torch.tensor(bi, dtype=torch.float64)
    save_file({k: v.float().contiguous() for k, v in out.items()}, o["out"])
    return {"problems": problems, "tensors": sorted(out)}


def op_kd_step(o):
    """Forward KL (mean over positions of Σ_v p_t (log p_t − log p_s), T = 1) of the student against the
    teacher on the given rows, and its gradient by torch autograd."""
    teacher, tp = load(o["teacher"])
    student, sp = load(o["student"])
    ids = read_ids(o["ids"])
    with torch.no_grad():
        lt = torch.log_softmax(teacher(input_ids=ids, use_cache=False).logits.float(), dim=-1)
    ls = torch.log_softmax(student(input_ids=ids, use_cache=False).logits.float(), dim=-1)
    loss = (lt.exp() * (lt - ls)).sum(-1).mean()
    loss.backward()
    disk = checkpoint_keys(o["student"], student.config.model_type)
    grads = {disk[k][0]: p.grad.contiguous() for k, p in student.named_parameters() if p.grad is not None}
    save_file(grads, o["out"])
    return {"loss": loss.item(), "problems": {**tp, **sp}}


def op_family_params(o):
    torch.manual_seed(0)
    config = FAMILIES[o["family"]]()
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(o["out"])
    return {"params": unique_params(model), "config_class": type(config).__name__}


OPS = {"save": op_save, "logits": op_logits, "config": op_config, "meta": op_meta, "calib": op_calib,
       "kd_step": op_kd_step, "family_params": op_family_params}


def main():
    ops = json.load(sys.stdin)
    for o in ops:
        try:
            result = {"ok": True, **OPS[o["op"]](o)}
        except Exception as e:  # noqa: BLE001 - reported to the test, which fails on it
            import traceback
            result = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-2000:]}
        print(json.dumps({"op": o["op"], **result}), flush=True)


if __name__ == "__main__":
    main()
