r"""PyTorch masked-diffusion LMs (LLaDA, Dream) as host models the samplers decode.

`host_model(net, tokenizer, messages, gen_length=L)` turns a PyTorch dLLM and its
tokenizer into a `HostModel` whose layout is the chat prompts (left-padded) followed
by $L$ masks, and whose `logits_fn(tokens (B, S)) -> (B, S, V)` calls the network
the way its authors' own `generate` does. `from_pretrained("hf:NAME_OR_PATH", ...)`
loads both from the Hugging Face cache or a local folder (`trust_remote_code`: LLaDA
and Dream ship their modelling code with their weights). Needs the optional extra:
`pip install 'trilemma[torch]'`.

**The two interfaces** (`FAMILIES`; the config's `model_type` picks one):

* **LLaDA** (`GSAI-ML/LLaDA-8B-Instruct`, `GSAI-ML/LLaDA-1.5`; `model_type`
  `llada`): `net(input_ids, attention_mask=(B, S))`; row $i$ of the logits predicts
  token $i$ (no shift). Mask id 126336, inside the 126,464-wide vocabulary; the
  tokenizer pads with EOS 126081. Its `generate.py` (ML-GSAI/LLaDA) passes the 2-D
  mask since its batched version.
* **Dream** (`Dream-org/Dream-v0-Instruct-7B`; `model_type` `Dream`): `net(input_ids,
  attention_mask=(B, 1, S, S), position_ids=(B, S))`, a bidirectional mask that lets
  no real token see padding and positions counted from the first real token;
  logits come shifted by one (row $i - 1$ predicts token $i$, the autoregressive
  initialisation), so row $i$ of the returned logits is the network's row $i - 1$
  (row 0 repeats itself), as `generation_utils.py` of Dream-org/Dream does. Mask id
  151666 in a 152,064-wide vocabulary; pad 151643.

The mask id is read from the config (`mask_token_id`) or the tokenizer
(`mask_token_id`), else the family's; the pad id from the tokenizer (else EOS).

**Prompt rows.** Left padding is the run of pad tokens before a prompt's first real
token; only real tokens are attended to. The prompt rows' logits (padding included,
where a query that sees nothing may be NaN) are returned as 0: no sampler reads them
(`tests/test_pytorch_models.py` checks both).

**Memory.** Each step moves $B \cdot S \cdot V$ logits to the host (float32 for a
bfloat16 or float16 network, else its dtype): 32 rows of 64 + 256 tokens of LLaDA
are $32 \cdot 320 \cdot 126464 \cdot 4$ B = 5.2 GB (Dream 6.2 GB); the decoder's
float64 softmax doubles it. Lower the batch size to fit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from types import MappingProxyType

import numpy as np

from .. import _checks
from ..layout import TokenLayout
from ._model import HostModel

INSTALL_HINT = (
    "PyTorch models need the optional extra: pip install 'trilemma[torch]' (on a "
    "CPU-only machine, install torch's CPU wheel first)"
)


@dataclasses.dataclass(frozen=True)
class Family:
    """How a family of dLLMs is called.

    Attributes:
      name: the family.
      shift: the network's logit row $i - 1$ predicts token $i$ (Dream).
      mask_id: the mask token when neither the config nor the tokenizer names one.
    """

    name: str
    shift: bool
    mask_id: int


FAMILIES = MappingProxyType(
    {
        "llada": Family("llada", shift=False, mask_id=126336),
        "dream": Family("dream", shift=True, mask_id=151666),
    }
)
"""The supported interfaces, by the lower-cased `model_type` of the config."""


def require():
    """`(torch, transformers)`, or `ImportError` saying what to install."""
    try:
        import torch
        import transformers
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return torch, transformers


def family_of(net, family: str | None = None) -> Family:
    """The interface of `net`: `family` if given, else by its config's `model_type`."""
    if family is None:
        model_type = getattr(getattr(net, "config", None), "model_type", None)
        if model_type is None:
            raise ValueError(
                "`family`: the model has no config.model_type to tell its interface; "
                f"give family= one of {sorted(FAMILIES)}"
            )
        family = str(model_type).lower()
        if family not in FAMILIES:
            raise ValueError(
                f"`family`: model_type {model_type!r} is not a known dLLM interface "
                f"({', '.join(sorted(FAMILIES))}); give family= if it is called like "
                "one of them"
            )
    elif family not in FAMILIES:
        raise _checks.unknown("family", family, tuple(FAMILIES))
    return FAMILIES[family]


def chat_prefixes(tokenizer, messages, *, pad_id: int) -> tuple[np.ndarray, list[str]]:
    """The chat prompts as one left-padded `(P, m)` table, and their text.

    Each prompt is `tokenizer.apply_chat_template(..., add_generation_prompt=True)`,
    tokenized without further special tokens (the template has them), then padded
    on the left with `pad_id` to the longest.

    Args:
      tokenizer: a Hugging Face tokenizer with a chat template.
      messages: one prompt per entry: a string (one user turn) or a list of
        `{"role", "content"}` turns.
      pad_id: the padding token.
    """
    if isinstance(messages, str) or not isinstance(messages, Sequence):
        raise TypeError(
            "`messages` must be a list with one prompt per entry (a string or a list "
            f"of chat turns); got {type(messages).__name__}"
        )
    if not messages:
        raise ValueError("`messages` must hold at least one prompt; got none")
    texts, rows = [], []
    for i, prompt in enumerate(messages):
        turns = (
            [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        )
        if not (
            isinstance(turns, Sequence)
            and turns
            and all(
                isinstance(t, dict) and {"role", "content"} <= set(t) for t in turns
            )
        ):
            raise TypeError(
                f"`messages[{i}]` must be a string or a non-empty list of "
                f"{{'role', 'content'}} turns; got {repr(prompt)[:80]}"
            )
        text = tokenizer.apply_chat_template(
            list(turns), add_generation_prompt=True, tokenize=False
        )
        texts.append(text)
        rows.append(list(tokenizer(text, add_special_tokens=False)["input_ids"]))
    width = max(len(r) for r in rows)
    prefixes = np.full((len(rows), width), pad_id, np.int64)
    for i, row in enumerate(rows):
        prefixes[i, width - len(row) :] = row
    return prefixes, texts


def host_model(
    net,
    tokenizer,
    messages,
    *,
    gen_length: int,
    family: str | None = None,
    mask_id: int | None = None,
    name: str = "torch",
) -> HostModel:
    """A `HostModel` of a PyTorch dLLM that answers `messages` in `gen_length` tokens.

    Args:
      net: the network (`torch.nn.Module`, in eval mode, on its device); its output
        has `.logits` `(B, S, V)`.
      tokenizer: its tokenizer (chat template, `pad_token_id`, `decode`).
      messages: one prompt per entry: a string or a list of chat turns; prompt $i$
        is the layout's prompt index $i$.
      gen_length: the output positions $L$ (all masked at the start).
      family: `"llada"` or `"dream"` (`FAMILIES`); default by `net.config.model_type`.
      mask_id: the mask token; default from the config, the tokenizer, the family.
      name: the `model` field of sample files.

    Returns:
      `HostModel(logits_fn, layout, name, text, prompt_text)`: `text` decodes an
      output with the tokenizer (special tokens skipped), `prompt_text(i)` is the
      chat prompt $i$.
    """
    torch, _ = require()
    gen_length = _checks.check_int(gen_length, "gen_length", minimum=1, maximum=2**20)
    interface = family_of(net, family)
    if mask_id is None:
        config_mask = getattr(getattr(net, "config", None), "mask_token_id", None)
        mask_id = next(
            (
                m
                for m in (config_mask, getattr(tokenizer, "mask_token_id", None))
                if m is not None
            ),
            interface.mask_id,
        )
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id
    if pad_id is None:
        raise ValueError("the tokenizer has neither a pad nor an EOS token to pad with")
    prefixes, prompt_texts = chat_prefixes(tokenizer, messages, pad_id=int(pad_id))
    width = prefixes.shape[1]
    device = next(net.parameters()).device

    @torch.no_grad()
    def logits_fn(tokens):
        x = torch.tensor(np.asarray(tokens), dtype=torch.long, device=device)
        keep = torch.ones_like(x, dtype=torch.bool)
        keep[:, :width] = torch.cumsum(x[:, :width] != pad_id, dim=1) > 0
        if interface.shift:
            square = keep[:, None, None, :] & keep[:, None, :, None]
            positions = (keep.long().cumsum(-1) - 1).masked_fill(~keep, 1)
            out = net(x, attention_mask=square, position_ids=positions).logits
            out = torch.cat([out[:, :1], out[:, :-1]], dim=1)
        else:
            out = net(x, attention_mask=keep.long()).logits
        if out.dtype in (torch.bfloat16, torch.float16):  # NumPy has no bfloat16
            out = out.float()
        out[:, :width] = 0.0  # prompt rows: never read (padding's may be NaN)
        return out.cpu().numpy()

    vocab = int(logits_fn(prefixes[:1, :]).shape[-1])
    mask_id = _checks.check_int(mask_id, "mask_id", minimum=0, maximum=vocab - 1)
    layout = TokenLayout(
        prefixes=prefixes,
        sizes=(vocab,) * gen_length,
        vocab_size=vocab,
        mask_id=mask_id,
    )

    def text(output) -> str:
        return tokenizer.decode(
            [int(t) for t in np.ravel(output)], skip_special_tokens=True
        )

    return HostModel(
        logits_fn,
        layout,
        name=name,
        text=text,
        prompt_text=lambda index: prompt_texts[index],
    )


def from_pretrained(
    name_or_path: str,
    messages,
    *,
    gen_length: int,
    family: str | None = None,
    mask_id: int | None = None,
    device: str | None = None,
    dtype: str = "auto",
) -> HostModel:
    """`host_model` of a Hugging Face model: a hub name or a local folder.

    Loads `AutoTokenizer` and `AutoModel` with `trust_remote_code=True` (LLaDA and
    Dream ship their modelling code with their weights: load only models you trust).

    Args:
      name_or_path: `GSAI-ML/LLaDA-8B-Instruct`, a local folder, ...
      messages: one prompt per entry (see `host_model`).
      gen_length: the output positions $L$.
      family: `"llada"` or `"dream"`; default by the config's `model_type`.
      mask_id: default from the config, the tokenizer or the family.
      device: `"cuda"`, `"cpu"`, ...; default CUDA when available.
      dtype: `"auto"` (bfloat16 on CUDA, float32 on the CPU), `"bfloat16"`,
        `"float16"`, `"float32"` or `"float64"`.
    """
    torch, transformers = require()
    dtypes = ("auto", "bfloat16", "float16", "float32", "float64")
    if dtype not in dtypes:
        raise _checks.unknown("dtype", dtype, dtypes)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype == "auto":
        dtype = "bfloat16" if str(device).startswith("cuda") else "float32"
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            name_or_path, trust_remote_code=True
        )
        net = transformers.AutoModel.from_pretrained(
            name_or_path, trust_remote_code=True, dtype=getattr(torch, dtype)
        )
    except (OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
        raise ValueError(
            f"`model` hf:{name_or_path}: cannot load it ({first})"
        ) from None
    net = net.to(device).eval()
    return host_model(
        net,
        tokenizer,
        messages,
        gen_length=gen_length,
        family=family,
        mask_id=mask_id,
        name=f"hf:{name_or_path}",
    )
