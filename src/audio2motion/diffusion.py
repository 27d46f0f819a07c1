"""Gaussian diffusion over normalised motion windows: noise schedule, training targets, and the DDPM and
DDIM samplers with classifier-free guidance and inpainting (known frames or channels kept).

`x0` is clean motion `[..., T, D]`, `x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps`. The network predicts
one of `x0`, `epsilon` or `v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0` (Salimans and Ho, 2022); every
prediction converts to the clean motion it implies, on which the auxiliary losses act.
"""

import math
from collections.abc import Callable

import torch

PREDICTIONS = ("x0", "epsilon", "v")
SCHEDULES = ("cosine", "linear")
SAMPLERS = ("ddim", "ddpm")


def alpha_bars(schedule: str, timesteps: int, beta_range: tuple[float, float]) -> torch.Tensor:
    """`abar_t` for t = 0 .. timesteps - 1 (t = 0 is the least noisy): cosine (Nichol and Dhariwal, 2021)
    or linear betas from beta_range[0] to beta_range[1] (Ho et al., 2020)."""
    if schedule == "cosine":
        s = 0.008
        steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
        f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    elif schedule == "linear":
        betas = torch.linspace(*beta_range, timesteps, dtype=torch.float64)
    else:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    return torch.cumprod(1 - betas, 0).float()


# A denoiser: (x_t [B, T, D], t [B], keep_audio [B] bool) -> prediction [B, T, D]; the audio is bound in.
Denoiser = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
# A constraint: (x [B, T, D], the step x is noised to, or None when clean) -> x with its constraints met.
Constraint = Callable[[torch.Tensor, int | None], torch.Tensor]


class GaussianDiffusion:
    """Schedule, training pairs and samplers for one objective config (see conf/objective/diffusion.yaml)."""

    def __init__(
        self,
        prediction: str = "x0",
        schedule: str = "cosine",
        timesteps: int = 1000,
        beta_range: tuple[float, float] = (1e-4, 0.02),
    ):
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
        if timesteps < 2:
            raise ValueError(f"timesteps must be 2 or more, got {timesteps}")
        self.prediction = prediction
        self.timesteps = timesteps
        self.abar = alpha_bars(schedule, timesteps, tuple(beta_range))  # [N]

    def _coefficients(self, t: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """sqrt(abar_t), sqrt(1 - abar_t) shaped to broadcast against `like` `[B, ...]`."""
        abar = self.abar.to(like.device)[t].reshape(-1, *[1] * (like.dim() - 1))
        return abar.sqrt(), (1 - abar).sqrt()

    def noisy(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t for clean `x0` `[B, T, D]`, steps `t` `[B]` and `noise` like x0."""
        a, s = self._coefficients(t, x0)
        return a * x0 + s * noise

    def target(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """What the network learns to predict from x_t."""
        if self.prediction == "x0":
            return x0
        if self.prediction == "epsilon":
            return noise
        a, s = self._coefficients(t, x0)
        return a * noise - s * x0

    def clean(self, prediction: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The clean motion x0 that a prediction implies."""
        if self.prediction == "x0":
            return prediction
        a, s = self._coefficients(t, x_t)
        if self.prediction == "epsilon":
            return (x_t - s * prediction) / a
        return a * x_t - s * prediction

    def sample(
        self,
        denoise: Denoiser,
        shape: tuple[int, ...],
        generator: torch.Generator,
        steps: int = 20,
        sampler: str = "ddim",
        guidance: float = 1.0,
        eta: float = 0.0,
        constrain: Constraint | None = None,
        noise: Callable[[], torch.Tensor] | None = None,
        clip: float | None = None,
        device: torch.device | str = "cpu",
    ) -> torch.Tensor:
        """Clean motion `shape` = `[B, T, D]` from noise, in `steps` steps spread evenly over the schedule.

        `sampler="ddim"` (Song et al., 2021; `eta` 0 is deterministic given the start noise) or `"ddpm"`
        (ancestral: the posterior's variance at each of the chosen steps, as DDIM with eta 1).
        `guidance` w mixes the conditional and unconditional predictions as `uncond + w (cond - uncond)`;
        w = 1 runs the conditional one alone. `constrain(x, step)` edits x after every step (`step` is the
        noise level x is at; None for the clean result): inpainting (see `replace`) and the windows of
        long audio that share frames. Noise comes from `generator` alone, so a seed repeats a sample:
        `shape`-sized draws, or `noise()` (windows of long audio slice one draw over the whole length, so
        that the frames they share get the same noise). `clip` bounds the clean-motion estimate of each
        step (normalised units): an epsilon prediction divides by sqrt(abar), which is 5e-5 at the cosine
        schedule's noisiest step.
        """
        self.check(steps, sampler, eta)
        eta = 1.0 if sampler == "ddpm" else eta
        batch = shape[0]
        keep = torch.ones(batch, dtype=torch.bool, device=device)
        drop = torch.zeros(batch, dtype=torch.bool, device=device)
        schedule = torch.linspace(self.timesteps - 1, 0, steps).round().long().tolist()
        abar = self.abar.to(device)
        draw = noise or (lambda: randn(shape, generator, device))
        x = draw()
        for i, step in enumerate(schedule):
            t = torch.full((batch,), step, dtype=torch.long, device=device)
            prediction = denoise(x, t, keep)
            if guidance != 1.0:
                unconditional = denoise(x, t, drop)
                prediction = unconditional + guidance * (prediction - unconditional)
            x0 = self.clean(prediction, x, t)
            if clip is not None:
                x0 = x0.clamp(-clip, clip)
            if i == len(schedule) - 1:
                return x0 if constrain is None else constrain(x0, None)  # [B, T, D]
            a_t, a_prev = abar[step], abar[schedule[i + 1]]
            eps = (x - a_t.sqrt() * x0) / (1 - a_t).sqrt()
            sigma = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).sqrt()
            x = a_prev.sqrt() * x0 + (1 - a_prev - sigma**2).clamp(min=0).sqrt() * eps
            if eta > 0:
                x = x + sigma * draw()
            if constrain is not None:
                x = constrain(x, schedule[i + 1])
        raise AssertionError("unreachable: the schedule has at least one step")

    def check(self, steps: int, sampler: str, eta: float, **_) -> None:
        """ValueError for sampling settings `sample` cannot use (other settings are ignored)."""
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
        if not 1 <= steps <= self.timesteps:
            raise ValueError(f"steps must be between 1 and {self.timesteps}, got {steps}")
        if eta < 0:
            raise ValueError(f"eta must be 0 or more, got {eta}")

    def replace(self, known: torch.Tensor, mask: torch.Tensor, generator: torch.Generator) -> Constraint:
        """Inpainting by replacement: entries where `mask` (bool, broadcastable to x) is True are set to
        `known` `[B, T, D]` noised to the step's level, and to `known` itself at the end."""

        def constrain(x: torch.Tensor, step: int | None) -> torch.Tensor:
            if step is None:
                return torch.where(mask, known, x)
            level = torch.full((x.shape[0],), step, dtype=torch.long, device=x.device)
            return torch.where(mask, self.noisy(known, level, randn(x.shape, generator, x.device)), x)

        return constrain


def randn(shape: tuple[int, ...], generator: torch.Generator, device: torch.device | str) -> torch.Tensor:
    """Standard normal noise drawn on the CPU, so that a seed gives the same numbers on any device."""
    return torch.randn(shape, generator=generator).to(device)


def diffusion_from_config(objective: dict) -> GaussianDiffusion | None:
    """The GaussianDiffusion of an objective config (conf/objective/); None for regression."""
    if objective["name"] != "diffusion":
        return None
    keys = ("prediction", "schedule", "timesteps", "beta_range")
    return GaussianDiffusion(**{key: objective[key] for key in keys})


def sampling_settings(objective: dict, **overrides) -> dict:
    """GaussianDiffusion.sample's settings from a diffusion objective config, with non-None overrides."""
    settings = {key: objective[key] for key in ("steps", "sampler", "guidance", "eta", "clip")}
    return {**settings, **{key: value for key, value in overrides.items() if value is not None}}
