"""The ``vlm`` answerer on a tiny random LLaVA saved with save_pretrained.

Checks that only the RoI tokens of the selected frames reach the language model,
spliced at the image marker, and that the reported token count is what was fed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from pipeline.answerers import build_answerer  # noqa: E402
from pipeline.answerers.vlm import VlmAnswerer, load_adapter  # noqa: E402
from pipeline.errors import ConfigError, ModelLoadError  # noqa: E402
from pipeline.perception import Selection  # noqa: E402
from pipeline.roi import crop_tokens, map_roi  # noqa: E402
from pipeline.types import EncodedFrame, RoI, StandingQuery  # noqa: E402

pytestmark = pytest.mark.slow

WORDS = "yes no user assistant answer or first . is there a red circle blue square ? : the".split()
SPECIALS = ["<pad>", "<unk>", "<s>", "</s>", "<image>"]
VLM_GRID = (6, 6)  # 48 px input, 8 px patches


class FakeEncoder:
    model_id = "fake-clip"
    grid = (4, 7)

    def encode_text(self, texts: Any) -> np.ndarray:
        raise AssertionError("the vlm answerer must not need CLIP text")


def _tokenizer() -> Any:
    vocab = {w: i for i, w in enumerate(SPECIALS + WORDS)}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Sequence([tokenizers.pre_tokenizers.Whitespace()])
    tok.normalizer = tokenizers.normalizers.Lowercase()
    tok.post_processor = tokenizers.processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", vocab["<s>"])]
    )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
    )


@pytest.fixture(scope="module")
def llava_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tinyllava")
    tokenizer = _tokenizer()
    vision = transformers.CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=48,
        patch_size=8,
    )
    text = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=2,
        eos_token_id=3,
        pad_token_id=0,
    )
    config = transformers.LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=4,
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
    )
    torch.manual_seed(0)
    transformers.LlavaForConditionalGeneration(config).save_pretrained(root)
    tokenizer.save_pretrained(root)
    transformers.CLIPImageProcessor(
        size={"shortest_edge": 48},
        crop_size={"height": 48, "width": 48},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    ).save_pretrained(root)
    return root


def _window(n: int = 5) -> list[EncodedFrame]:
    rng = np.random.default_rng(0)
    return [
        EncodedFrame(
            "cam",
            float(t),
            np.zeros(8, np.float32),
            np.zeros((4, 7, 8), np.float32),
            rng.integers(0, 256, (36, 64, 3), dtype=np.uint8),
            (360, 640),
        )
        for t in range(n)
    ]


def _selection() -> Selection:
    rois = (RoI(0, 0, 2, 3, 4, 7), RoI(1, 2, 3, 5, 4, 7), RoI(0, 0, 4, 7, 4, 7))
    return Selection("q", (0, 2, 4), (0.0, 2.0, 4.0), (0.1, 0.3, 0.2), np.zeros(5), rois)


@pytest.fixture()
def answerer(llava_dir: Path) -> VlmAnswerer:
    load_adapter.cache_clear()
    built = build_answerer(
        "vlm",
        {"max_new_tokens": 4, "device": "cpu"},
        encoder=FakeEncoder(),
        vlm_spec=str(llava_dir),
    )
    assert isinstance(built, VlmAnswerer)
    return built


def test_only_roi_tokens_are_fed_and_counted(answerer: VlmAnswerer) -> None:
    adapter, model = answerer.adapter, answerer.adapter._model
    fed: list[torch.Tensor] = []
    model.model.language_model.register_forward_pre_hook(
        lambda _m, _a, kw: fed.append(kw["inputs_embeds"].detach().clone()), with_kwargs=True
    )
    window, sel = _window(), _selection()
    query = StandingQuery("q", "is there a red circle ?", answerer="vlm")
    result = answerer.answer(query, window, sel, np.zeros(8, np.float32))

    mapped = [map_roi(r, *VLM_GRID) for r in sel.rois]
    expected_visual = sum(m.tokens for m in mapped)
    assert result.visual_tokens == expected_visual < len(sel.rois) * 36
    before, after = answerer.settings.prompt.format(question=query.question).split("<image>")
    tok = adapter._tokenizer
    n_before = len(tok(before)["input_ids"])
    n_text = n_before + len(tok(after, add_special_tokens=False)["input_ids"])
    assert fed[0].shape[1] == n_text + expected_visual

    with torch.no_grad():
        pixels = torch.stack([adapter._preprocess(window[i].thumb) for i in sel.indices])
        feats = model.model.get_image_features(
            pixel_values=pixels, vision_feature_layer=-2, vision_feature_select_strategy="default"
        ).pooler_output
    grids = [f.reshape(*VLM_GRID, -1).numpy() for f in feats]
    crops = np.concatenate([crop_tokens(g, m) for g, m in zip(grids, mapped, strict=True)])
    spliced = fed[0][0, n_before : n_before + expected_visual].numpy()
    np.testing.assert_allclose(spliced, crops, atol=1e-5)

    assert isinstance(result.text, str) and result.score is None
    assert result.model_ids == {"vlm": str(Path(adapter.model_id)), "clip": "fake-clip"}
    assert adapter.vision_frames_encoded == 3


def test_greedy_decoding_is_deterministic(answerer: VlmAnswerer) -> None:
    query = StandingQuery("q", "is there a blue square ?", answerer="vlm")
    first = answerer.answer(query, _window(), _selection(), np.zeros(8))
    second = answerer.answer(query, _window(), _selection(), np.zeros(8))
    assert first.text == second.text
    assert first.matched is {"yes": True, "no": False}.get(first.text.split(" ")[0].lower())


def test_model_is_loaded_once_per_spec(llava_dir: Path) -> None:
    load_adapter.cache_clear()
    a = build_answerer("vlm", {"device": "cpu"}, encoder=FakeEncoder(), vlm_spec=str(llava_dir))
    b = build_answerer("vlm", {"device": "cpu", "model": str(llava_dir)}, encoder=FakeEncoder())
    assert isinstance(a, VlmAnswerer) and isinstance(b, VlmAnswerer)
    assert a.adapter is b.adapter


def test_missing_model_is_a_model_load_error(tmp_path: Path) -> None:
    load_adapter.cache_clear()
    with pytest.raises(ModelLoadError):
        build_answerer("vlm", {"device": "cpu"}, encoder=FakeEncoder(), vlm_spec=str(tmp_path))
    with pytest.raises(ModelLoadError, match="local"):
        build_answerer(
            "vlm", {"device": "cpu", "model": "nobody/no-such-llava-xyz"}, encoder=FakeEncoder()
        )


def test_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="vlm.max_new_tokens"):
        build_answerer("vlm", {"max_new_tokens": 0}, encoder=FakeEncoder(), vlm_spec="x")
    with pytest.raises(ConfigError, match="vlm.temperature"):
        build_answerer("vlm", {"temperature": 0.2}, encoder=FakeEncoder(), vlm_spec="x")
    with pytest.raises(ConfigError, match="vlm.model"):
        build_answerer("vlm", {}, encoder=FakeEncoder())
