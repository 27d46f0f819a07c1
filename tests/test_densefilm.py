import torch

from audio2motion.models import DenseFiLM


def _randomise(film: DenseFiLM) -> DenseFiLM:
    torch.nn.init.normal_(film.proj.weight, std=0.5)
    torch.nn.init.normal_(film.proj.bias, std=0.5)
    return film


def test_matches_the_formula_per_frame_and_per_clip():
    torch.manual_seed(0)
    film = _randomise(DenseFiLM(8))
    h = torch.randn(2, 5, 8)
    for cond in (torch.randn(2, 5, 8), torch.randn(2, 8)):
        params = film.proj(torch.nn.functional.mish(cond))
        scale, shift = params[..., :8], params[..., 8:]
        if cond.ndim == 2:
            scale, shift = scale[:, None], shift[:, None]
        out = film(h, cond)
        assert out.shape == (2, 5, 8)
        torch.testing.assert_close(out, (1 + scale) * h + shift)


def test_starts_as_identity():
    film = DenseFiLM(16)
    h = torch.randn(3, 7, 16)
    assert torch.equal(film(h, torch.randn(3, 7, 16)), h)
    assert torch.equal(film(h, torch.randn(3, 16)), h)


def test_per_clip_equals_per_frame_when_the_condition_is_constant_in_time():
    torch.manual_seed(1)
    film = _randomise(DenseFiLM(6))
    h, clip = torch.randn(2, 9, 6), torch.randn(2, 6)
    torch.testing.assert_close(film(h, clip), film(h, clip[:, None].expand(2, 9, 6)))


def test_each_frame_is_modulated_by_its_own_condition():
    torch.manual_seed(2)
    film = _randomise(DenseFiLM(4))
    h, cond = torch.randn(1, 6, 4), torch.randn(1, 6, 4)
    changed = cond.clone()
    changed[:, 3] += 1.0
    diff = (film(h, changed) - film(h, cond)).abs().sum(-1)[0]
    assert diff[3] > 0 and torch.count_nonzero(diff) == 1
