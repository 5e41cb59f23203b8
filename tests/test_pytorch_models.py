"""PyTorch dLLMs as host models (`trilemma.models.pytorch`), on CPU, no download.

The networks are `tiny_dllm`'s LLaDA- and Dream-shaped modules with random weights,
in float64, and the tokenizer a word-level one built here. Checked: what can go
wrong in a real run (left padding, Dream's shift and positions, prompt rows), that
the host path draws the samples of the same weights ported to JAX for the same keys,
and `sample --model hf:FOLDER` then `diversity-loss` from the shell.
"""

import functools
import json
import os
import subprocess

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the extra trilemma[torch]")
transformers = pytest.importorskip("transformers", reason="needs trilemma[torch]")

from clitools import console_script, report, run  # noqa: E402
from tiny_dllm import (  # noqa: E402
    TinyDream,
    TinyDreamConfig,
    TinyLLaDA,
    TinyLLaDAConfig,
    scale,
)

from trilemma import samples  # noqa: E402
from trilemma.models import HostModel, Model  # noqa: E402
from trilemma.models import pytorch as torch_models  # noqa: E402
from trilemma.samplers import decode_batch, make_sampler  # noqa: E402
from trilemma.sampling import sample_keys  # noqa: E402
from trilemma.tasks import POOL_NAMES  # noqa: E402

SPECIAL = ["<pad>", "<eos>", "<unk>", "<|user|>", "<mask>", "<|assistant|>"]
WORDS = [*SPECIAL, "[", "]", ",", '"', *POOL_NAMES]
PAD, MASK = 0, 4
TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
PROMPTS = ["Ann Bob", '["Cat", "Dan", "Eve", "Fay"] please, Gus']


def word_tokenizer():
    """A word-level tokenizer with a chat template: names, brackets, quotes."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    core = Tokenizer(
        models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>")
    )
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()]
    )
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<pad>",
        eos_token="<eos>",
        unk_token="<unk>",
        mask_token="<mask>",
        additional_special_tokens=["<|user|>", "<|assistant|>"],
    )
    tokenizer.chat_template = TEMPLATE
    return tokenizer


def tiny(family: str, seed: int = 0, **config):
    """A float64 tiny network of `family` with random weights (seeded)."""
    torch.manual_seed(seed)
    network, configuration = {
        "llada": (TinyLLaDA, TinyLLaDAConfig),
        "dream": (TinyDream, TinyDreamConfig),
    }[family]
    return network(configuration(vocab_size=len(WORDS), **config)).double().eval()


@pytest.fixture(scope="module")
def tokenizer():
    return word_tokenizer()


def with_outputs(model, rng, prompt_index):
    """Initial rows of `prompt_index` with some output positions filled at random."""
    tokens = model.layout.initial_tokens(np.asarray(prompt_index))
    outputs = model.layout.outputs(tokens)
    fill = rng.random(outputs.shape) < 0.5
    outputs[fill] = rng.integers(6, len(WORDS), size=int(fill.sum()))
    return tokens


@pytest.mark.parametrize("family", ["llada", "dream"])
def test_left_padding_gives_the_logits_of_the_prompt_alone(family, tokenizer):
    """A short prompt padded on the left (beside a long one) = the prompt alone.

    To 1e-12 in float64, output rows with masks and committed tokens alike. LLaDA's
    rotary positions make padding harmless once it is masked; Dream's learned
    positions also need the explicit positions counted from the first real token.
    """
    net = tiny(family)
    both = torch_models.host_model(net, tokenizer, PROMPTS, gen_length=6)
    alone = torch_models.host_model(net, tokenizer, PROMPTS[:1], gen_length=6)
    assert both.layout.prefix_length > alone.layout.prefix_length  # padded
    tokens = with_outputs(both, np.random.default_rng(0), [0, 1, 0])
    padded = both.logits_fn(tokens)
    single = alone.logits_fn(
        np.concatenate(
            [alone.layout.prefixes[[0, 0]], both.layout.outputs(tokens[[0, 2]])], 1
        )
    )
    np.testing.assert_allclose(
        both.layout.outputs(padded[[0, 2]].transpose(0, 2, 1)),
        alone.layout.outputs(single.transpose(0, 2, 1)),
        rtol=0,
        atol=1e-12,
    )


def test_unmasked_padding_would_change_the_logits(tokenizer):
    """The check above can fail: the same network attending to the padding differs."""
    net = tiny("llada")
    both = torch_models.host_model(net, tokenizer, PROMPTS, gen_length=6)
    alone = torch_models.host_model(net, tokenizer, PROMPTS[:1], gen_length=6)
    tokens = both.layout.initial_tokens(np.array([0]))
    with torch.no_grad():
        careless = net(torch.as_tensor(tokens, dtype=torch.long)).logits.numpy()
    single = alone.logits_fn(alone.layout.initial_tokens(np.array([0])))
    assert np.abs(careless[0, -6:] - single[0, -6:]).max() > 1e-3


def test_dream_shift_puts_the_prediction_of_token_i_at_row_i(tokenizer):
    """A Dream-style network that knows each position's token decodes it exactly.

    Its raw row p predicts position p + 1 (`answer[p + 1]` gets +50); shifted, the
    samples of both prompts (different lengths, one batch, left padding) are
    `answer[m_x : m_x + L]`, m_x the prompt's real length: right only if the shift
    and the positions are. Unshifted, they would be `answer[m_x + 1 : ...]`.
    """
    rng = np.random.default_rng(1)
    answer = rng.integers(6, len(WORDS), size=64).tolist()
    net = tiny("dream", answer=answer)
    model = torch_models.host_model(net, tokenizer, PROMPTS, gen_length=5)
    lengths = (model.layout.prefixes != PAD).sum(1)
    for sampler in (
        make_sampler("confidence_topk", k=2),
        make_sampler("random_topk", k=1, temperature=1.0),
    ):
        tokens = model.layout.initial_tokens(np.array([0, 1]))
        out = decode_batch(sampler, model, jax.random.key(0), tokens)
        got = model.layout.outputs(np.asarray(out.tokens))
        want = [answer[m : m + 5] for m in lengths]
        np.testing.assert_array_equal(got, want)
        assert got[0].tolist() != answer[lengths[0] + 1 : lengths[0] + 6]


def test_prompt_rows_are_zero_and_never_read(tokenizer):
    """Prompt rows come back as 0, and garbage in them changes no sample.

    A padded query sees nothing inside Dream's attention (NaN there); any sampler
    must read only output rows.
    """
    model = torch_models.host_model(tiny("dream"), tokenizer, PROMPTS, gen_length=6)
    width = model.layout.prefix_length
    logits = model.logits_fn(model.layout.initial_tokens(np.array([0, 1])))
    assert (logits[:, :width] == 0).all() and np.isfinite(logits).all()

    def garbage(tokens):
        out = model.logits_fn(tokens)
        out[:, :width] = np.random.default_rng(0).normal(0, 1e6, out[:, :width].shape)
        return out

    noisy = model._replace(logits_fn=garbage)
    tokens = model.layout.initial_tokens(np.array([0, 1, 1]))
    for name, params in [
        ("confidence_topk", {"k": 2, "temperature": 1.0}),
        ("threshold", {"gamma": 0.3}),
        ("entropy_topk", {"k": 3}),
    ]:
        sampler = make_sampler(name, **params)
        keys = jax.random.split(jax.random.key(3), 3)
        a = decode_batch(sampler, model, keys, tokens)
        b = decode_batch(sampler, noisy, keys, tokens)
        np.testing.assert_array_equal(a.tokens, b.tokens)
        np.testing.assert_array_equal(a.nfe, b.nfe)


# --- the same weights in JAX ----------------------------------------------------------


def _rotate(x, positions):
    half = x.shape[-1] // 2
    freq = 10000.0 ** (-jnp.arange(half, dtype=x.dtype) / half)
    angle = positions[None, :, None].astype(x.dtype) * freq[None, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return jnp.concatenate(
        [
            x1 * jnp.cos(angle) - x2 * jnp.sin(angle),
            x1 * jnp.sin(angle) + x2 * jnp.cos(angle),
        ],
        -1,
    )


def _llada_logits(params, tokens, *, heads, width, prefix_length):
    """`TinyLLaDA` written again in JAX for one row `(S,)`, prompt rows 0."""
    length = tokens.shape[0]
    keep = jnp.arange(length) >= prefix_length
    keep = keep | (jnp.cumsum(tokens != PAD) > 0)
    x = params["embed.weight"][tokens]
    qkv = x @ params["qkv.weight"].T + params["qkv.bias"][None]
    q, k, v = (
        t.reshape(length, heads, -1).transpose(1, 0, 2) for t in jnp.split(qkv, 3, -1)
    )
    positions = jnp.arange(length)
    q, k = _rotate(q, positions), _rotate(k, positions)
    scores = jnp.einsum("hsd,htd->hst", q, k) * scale(width, heads)
    scores = jnp.where(keep[None, None, :], scores, -jnp.inf)
    a = jnp.einsum("hst,htd->hsd", jax.nn.softmax(scores, -1), v)
    x = x + a.transpose(1, 0, 2).reshape(length, -1) @ params["out.weight"].T
    x = x + params["out.bias"][None]
    hidden = jnp.tanh(x @ params["up.weight"].T + params["up.bias"][None])
    x = x + hidden @ params["down.weight"].T + params["down.bias"][None]
    logits = x @ params["head.weight"].T + params["head.bias"][None]
    return jnp.where((jnp.arange(length) < prefix_length)[:, None], 0.0, logits)


def jax_port(host: HostModel, net) -> Model:
    """The JAX `Model` of `net`'s weights, in the host model's layout."""
    params = {k: jnp.asarray(v.numpy()) for k, v in net.state_dict().items()}
    logits_fn = functools.partial(
        _llada_logits,
        heads=net.config.heads,
        width=net.config.width,
        prefix_length=host.layout.prefix_length,
    )
    return Model(logits_fn, params, host.layout, name="jax-port")


SAMPLERS = [
    ("confidence_topk", {"k": 2, "temperature": 1.0}),
    ("random_topk", {"k": 3, "temperature": 1.0}),
    ("threshold", {"gamma": 0.2, "temperature": 1.0}),
    ("mdlm", {"num_steps": 3}),
]


@pytest.mark.parametrize(("name", "params"), SAMPLERS, ids=[s[0] for s in SAMPLERS])
def test_host_samples_equal_the_jax_port_for_the_same_keys(name, params, tokenizer):
    """The PyTorch network and its JAX port draw the same samples and NFE.

    Same keys (`sample_keys`), same layout, float64 on both sides: the logits agree
    to ~1e-13 (checked), so every inverse-CDF draw and every confidence ranking is
    the same; a wrong mask, position or row order in either would not be.
    """
    net = tiny("llada", seed=2)
    host = torch_models.host_model(net, tokenizer, PROMPTS, gen_length=6)
    port = jax_port(host, net)
    tokens = with_outputs(host, np.random.default_rng(2), [0, 1])
    want = host.logits_fn(tokens)
    got = jax.vmap(lambda row: port.logits_fn(port.params, row))(jnp.asarray(tokens))
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=1e-11)
    sampler = make_sampler(name, **params)
    prompt_ids = np.repeat([0, 1], 16)
    keys = sample_keys(7, prompt_ids, np.tile(np.arange(16), 2))
    start = host.layout.initial_tokens(prompt_ids)
    a = decode_batch(sampler, host, keys, start)
    b = decode_batch(sampler, port, keys, start)
    np.testing.assert_array_equal(np.asarray(a.tokens), np.asarray(b.tokens))
    np.testing.assert_array_equal(np.asarray(a.nfe), np.asarray(b.nfe))
    assert len({tuple(r) for r in host.layout.outputs(np.asarray(a.tokens))}) > 2


# --- interfaces and errors ------------------------------------------------------------


def test_family_mask_and_pad_come_from_config_and_tokenizer(tokenizer):
    net = tiny("llada")
    model = torch_models.host_model(net, tokenizer, PROMPTS, gen_length=3)
    assert (model.layout.mask_id, model.layout.vocab_size) == (MASK, len(WORDS))
    assert model.layout.prefixes[0, 0] == PAD  # left-padded with the pad token
    assert model.prompt_text(1).startswith("<|user|> [")
    assert model.text(np.array([6, 9, 11, 9, 7])) == '[ " Ann " ]'
    net.config.mask_token_id = None  # then the tokenizer's
    assert (
        torch_models.host_model(net, tokenizer, PROMPTS, gen_length=3).layout.mask_id
        == tokenizer.mask_token_id
    )
    with pytest.raises(ValueError, match="`mask_id` must be an integer in"):
        torch_models.host_model(net, tokenizer, PROMPTS, gen_length=3, mask_id=999)


def test_unknown_interfaces_and_bad_arguments_are_named(tokenizer):
    net = tiny("llada")
    net.config.model_type = "bert"
    with pytest.raises(ValueError, match="model_type 'bert' is not a known dLLM"):
        torch_models.host_model(net, tokenizer, PROMPTS, gen_length=3)
    model = torch_models.host_model(
        net, tokenizer, PROMPTS, gen_length=3, family="llada"
    )
    assert model.layout.output_length == 3
    with pytest.raises(ValueError, match="Unknown family 'gpt'"):
        torch_models.host_model(net, tokenizer, PROMPTS, gen_length=3, family="gpt")
    llada = functools.partial(torch_models.host_model, net, tokenizer, family="llada")
    with pytest.raises(TypeError, match="`messages` must be a list"):
        llada("Ann", gen_length=3)
    with pytest.raises(TypeError, match=r"`messages\[1\]` must be a string"):
        llada(["Ann", [{"x": 1}]], gen_length=3)
    with pytest.raises(ValueError, match="`gen_length`"):
        llada(PROMPTS, gen_length=0)


# --- from the shell -------------------------------------------------------------------


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    """A LLaDA-style model saved as LLaDA is published: weights, tokenizer, code."""
    folder = tmp_path_factory.mktemp("tiny-llada")
    TinyLLaDAConfig.register_for_auto_class()
    TinyLLaDA.register_for_auto_class("AutoModel")
    tiny("llada", seed=4).float().save_pretrained(folder)
    word_tokenizer().save_pretrained(folder)
    return folder


def test_sample_then_diversity_loss_from_the_shell(hf_folder, tmp_path, capsys):
    """`trilemma sample --model hf:FOLDER` on Copy, then `diversity-loss` on its file.

    The console script loads the folder with `trust_remote_code` (as LLaDA), asks
    ParallelBench's chat for each prompt and writes the decoded answers; diversity-
    loss grades them as text (the random model answers nothing valid) and reports
    tokens per step as the answer's tokens over the forward passes.
    """
    out = tmp_path / "tiny.jsonl"
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    argv = [
        console_script(),
        "sample",
        "--model",
        f"hf:{hf_folder}",
        "--task",
        "copy",
        "--n",
        "3",
        "--num-prompts",
        "2",
        "--sampler",
        "confidence_topk",
        "--k",
        "2",
        "--temperature",
        "1",
        "--gen-length",
        "8",
        "--samples-per-prompt",
        "30",
        "-o",
        str(out),
        "--json",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["model"] == f"hf:{hf_folder}" and summary["samples"] == 60
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["prompt_text"].startswith("<|user|> You are managing")
    assert len(lines[0]["output_tokens"]) == 8 and lines[0]["nfe"] == 4
    got = report(
        ["diversity-loss", "--samples", str(out), "--task", "copy", "--n", "3"], capsys
    )
    point = got["samplers"][0]
    assert point["accuracy"]["estimate"] == 0.0
    assert point["tokens_per_step"]["estimate"] == pytest.approx(2.0)
    read = samples.read(out)
    assert read.text_outputs and len(read) == 60


def test_hf_without_the_extra_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "torch", None)
    argv = ["sample", "--model", "hf:GSAI-ML/LLaDA-8B-Instruct", "--task", "copy"]
    argv += ["--n", "3", "--sampler", "random_topk", "--k", "1", "--gen-length", "8"]
    argv += ["--samples-per-prompt", "1", "-o", str(tmp_path / "x.jsonl")]
    code, out, err = run(argv, capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "pip install 'trilemma[torch]'" in err
    assert not list(tmp_path.iterdir())
