"""Tiny LLaDA- and Dream-shaped PyTorch dLLMs, built from a config, for tests.

Nothing is downloaded: the tests build these with random weights. Each has the
interface of its family (`trilemma.models.pytorch.FAMILIES`):

* `TinyLLaDA` (`model_type` "llada"): `forward(input_ids, attention_mask=(B, S))`,
  rotary positions 0..S-1 whatever the padding (as LLaDA: rotary attention depends
  on position differences only, so left padding changes nothing), keys masked by
  `attention_mask`; row i predicts token i.
* `TinyDream` (`model_type` "Dream"): `forward(input_ids, attention_mask=(B, 1, S,
  S) bool, position_ids=(B, S))`, *learned absolute* position embeddings (so wrong
  positions change the logits), and row i predicts token i + 1. With
  `config.answer` set, row i also gets a large logit on `answer[position_ids + 1]`:
  a model that knows the token of each position, which only a correct shift decodes.

The file is self-contained (torch and transformers only), so a test can save a model
with `save_pretrained` and load it back with `AutoModel.from_pretrained(...,
trust_remote_code=True)`, as LLaDA and Dream are loaded.
"""

import math

import torch
from torch import nn
from torch.nn import functional
from transformers import PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import MaskedLMOutput


class TinyLLaDAConfig(PretrainedConfig):
    """Sizes of the tiny model; `mask_token_id` as LLaDA's and Dream's configs."""

    model_type = "llada"

    def __init__(
        self,
        vocab_size=48,
        width=16,
        heads=2,
        max_positions=256,
        mask_token_id=4,
        answer=None,
        initializer_range=0.6,
        **kwargs,
    ):
        self.vocab_size = vocab_size
        self.width = width
        self.heads = heads
        self.max_positions = max_positions
        self.mask_token_id = mask_token_id
        self.answer = answer
        self.initializer_range = initializer_range
        super().__init__(**kwargs)


class TinyDreamConfig(TinyLLaDAConfig):
    """The same sizes, Dream's `model_type`."""

    model_type = "Dream"

    def __init__(self, **kwargs):  # transformers rewrites an inherited __init__
        super().__init__(**kwargs)


def rotate(x, positions):
    """Rotary position embedding of `x` `(B, H, S, d)` at `positions` `(B, S)`."""
    half = x.shape[-1] // 2
    freq = 10000.0 ** (-torch.arange(half, dtype=x.dtype, device=x.device) / half)
    angle = positions[:, None, :, None].to(x.dtype) * freq
    cos, sin = torch.cos(angle), torch.sin(angle)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class TinyLLaDA(PreTrainedModel):
    """One bidirectional attention block and an MLP; LLaDA's call signature."""

    config_class = TinyLLaDAConfig
    dream = False

    def __init__(self, config):
        super().__init__(config)
        width, vocab = config.width, config.vocab_size
        self.embed = nn.Embedding(vocab, width)
        self.position = nn.Embedding(config.max_positions, width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.up = nn.Linear(width, 2 * width)
        self.down = nn.Linear(2 * width, width)
        self.head = nn.Linear(width, vocab)
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.bias, std=self.config.initializer_range)

    def forward(self, input_ids, attention_mask=None, position_ids=None, **kwargs):
        """Logits `(B, S, V)` in a `MaskedLMOutput`, called as the family is."""
        batch, length = input_ids.shape
        heads = self.config.heads
        x = self.embed(input_ids)
        if self.dream:
            positions = position_ids
            x = x + self.position(positions)
            mask = attention_mask
        else:
            positions = torch.arange(length, device=input_ids.device)[None]
            positions = positions.expand(batch, length)
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            mask = attention_mask.bool()[:, None, None, :]
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (
            t.reshape(batch, length, heads, -1).transpose(1, 2) for t in (q, k, v)
        )
        if not self.dream:
            q, k = rotate(q, positions), rotate(k, positions)
        a = functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.out(a.transpose(1, 2).reshape(batch, length, -1))
        x = x + self.down(torch.tanh(self.up(x)))
        logits = self.head(x)
        if self.dream and self.config.answer is not None:
            answer = torch.as_tensor(self.config.answer, device=input_ids.device)
            ahead = (positions + 1).clamp(max=len(answer) - 1)
            logits = logits + 50.0 * functional.one_hot(
                answer[ahead], self.config.vocab_size
            ).to(logits.dtype)
        return MaskedLMOutput(logits=logits)


class TinyDream(TinyLLaDA):
    """Dream's call signature: 4-D mask, explicit positions, logits shifted by one."""

    config_class = TinyDreamConfig
    dream = True


def scale(width: int, heads: int) -> float:
    """The attention's softmax temperature, 1/sqrt(head width)."""
    return 1.0 / math.sqrt(width // heads)
