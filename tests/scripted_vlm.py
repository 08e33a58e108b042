"""A tiny LLaVA that always gives one scripted reply (a test fixture made of real weights).

Built from the ``tiny-llava`` folder: every attention and MLP output projection is
zeroed, so a position's hidden state is its own token's embedding, and the LM head
maps each token of the chain ``":" → reply words → </s>`` to the next one. The
model still goes through the product's whole VLM path (vision tower, RoI tokens
spliced into the prompt, batched greedy decoding); only what it says is fixed, so
tests can decide whether "the VLM" confirms a window.
"""

from __future__ import annotations

from pathlib import Path


def save_scripted_llava(directory: Path, reply: str) -> Path:
    """A model folder whose greedy answer to any feedwatch prompt is ``reply``."""
    import torch
    from transformers import AutoTokenizer, LlavaForConditionalGeneration

    from pipeline.models.tiny import save_tiny_llava

    out = directory / ("scripted-" + "-".join(reply.lower().split()))
    if (out / "config.json").is_file():
        return out
    base = save_tiny_llava(directory / "base")
    model = LlavaForConditionalGeneration.from_pretrained(base)
    tokenizer = AutoTokenizer.from_pretrained(base)
    chain = [tokenizer.convert_tokens_to_ids(":")]
    chain += tokenizer(reply, add_special_tokens=False)["input_ids"]
    chain.append(tokenizer.eos_token_id)
    unknown = tokenizer.unk_token_id
    if unknown in chain or len(set(chain)) != len(chain):
        raise ValueError(f"reply {reply!r} needs distinct words of the tiny vocabulary")
    with torch.no_grad():
        for layer in model.model.language_model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        emb = model.get_input_embeddings().weight
        head = model.lm_head.weight
        head.zero_()
        for cur, nxt in zip(chain, chain[1:], strict=False):
            head[nxt] += 10.0 * emb[cur] / emb[cur].norm()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    for name in ("preprocessor_config.json",):
        (out / name).write_bytes((base / name).read_bytes())
    return out
