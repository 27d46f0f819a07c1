"""LightningModule: losses, optimiser and schedule, metrics around the plain network (see builder.py)."""

import math
from collections.abc import Callable

import lightning as L
import torch
from lightning.pytorch.callbacks import Timer

from audio2motion.builder import build_model
from audio2motion.diffusion import sampling_settings
from audio2motion.errors import DivergedError, InputError
from audio2motion.motion.layout import group_slices, joint_positions

# AdamW's parameter groups: weights of 2 or more dimensions, and the rest (their names are TensorBoard's
# lr-AdamW/decay and lr-AdamW/no_decay, and resume checks them in a checkpoint's optimiser state).
PARAMETER_GROUPS = ("decay", "no_decay")


def warmup_cosine(step: int, warmup_steps: int, progress: float, min_lr_ratio: float) -> float:
    """Learning-rate factor: linear warm-up from 0 to 1 over the first steps, then cosine decay to
    `min_lr_ratio` as `progress` (the fraction of the run done, see Audio2MotionModule.run_progress) goes
    from 0 to 1."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, max(0.0, progress))
    return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class Audio2MotionModule(L.LightningModule):
    """Trains the network (Audio2Motion, or MotionDenoiser for diffusion) on windows of normalised
    features and motion.

    Everything needed to rebuild the model travels in the checkpoint: the constructor's arguments as
    plain data (`hyper_parameters`) and the normalisation statistics as buffers (`state_dict`).
    """

    def __init__(
        self,
        net: dict,
        loss: dict,
        optimizer: dict,
        scheduler: dict,
        features: dict,
        layout: dict,
        feature_dim: int,
        window: int,
        max_nonfinite_steps: int = 10,
        objective: dict | None = None,
    ):
        super().__init__()
        if max_nonfinite_steps < 1:
            raise InputError(f"model.max_nonfinite_steps must be at least 1, got {max_nonfinite_steps}")
        if loss.get("joint_weight", 0.0) > 0 and not layout.get("skeleton"):
            raise InputError(
                "model.loss.joint_weight > 0 needs motion with a skeleton (data=aistpp or data=beat2)"
            )
        if loss.get("contact_weight", 0.0) > 0 and "foot_contact" not in group_slices(layout):
            raise InputError(
                "model.loss.contact_weight > 0 needs motion with foot contacts (data=aistpp or data=beat2 "
                "with data.reader.contacts=true)"
            )
        self.save_hyperparameters(logger=False)
        try:
            parts = build_model(self.hparams)
        except ValueError as err:  # settings that make no network: the user's config
            raise InputError(str(err)) from err
        self.model, self.feature_norm, self.motion_norm = parts.model, parts.feature_norm, parts.motion_norm
        self.diffusion, self.objective = parts.diffusion, parts.objective
        self._val_sums: dict[str, torch.Tensor] = {}
        self._step_finite, self._step_clips = [], []  # of the micro-batches of the coming optimiser step
        self.nonfinite_steps, self._nonfinite_streak = 0, 0  # skipped steps: in all, and in a row

    def set_stats(self, stats: dict[str, torch.Tensor]) -> None:
        """Normalisation from the training split (see MotionDataModule.stats)."""
        self.feature_norm.set_stats(stats["feature_mean"], stats["feature_std"])
        self.motion_norm.set_stats(stats["motion_mean"], stats["motion_std"])

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Raw features `[B, T, F]` -> normalised motion `[B, T, D]`. Padded frames (`mask` False) become
        the mean features, 0 once normalised: what the model's own zero padding shows it at clip edges."""
        return self.model(self._normalised_features(features, mask), mask)

    def _normalised_features(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Raw features `[B, T, F]` normalised, with padded frames (`mask` `[B, T]` False) at 0."""
        return self.feature_norm(features) * mask.unsqueeze(-1)

    def _losses(
        self, batch: dict, val_batch: int | None = None
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """Loss terms, the prediction's clean motion and the target, both normalised `[B, T, D]`.
        Diffusion: the network's prediction from a noisy window at a random step (validation batch
        `val_batch` seeds it, so that epochs compare), its error as `recon`, and the auxiliary terms
        (velocity, joints, foot contact) on the clean motion it implies, each window's weighted by `aux`
        (see _denoising)."""
        target = self.motion_norm(batch["motion"])  # [B, T, D]
        mask = batch["mask"].unsqueeze(-1).to(target.dtype)  # [B, T, 1]
        aux = torch.ones_like(mask[:, :1])  # [B, 1, 1]
        if self.diffusion is None:
            pred = self(batch["features"], batch["mask"])  # [B, T, D]
            recon = ((pred - target).pow(2) * mask).sum() / (mask.sum() * pred.shape[-1])
        else:
            pred, recon, aux = self._denoising(batch, target, mask, val_batch)
        vel_mask = mask[:, 1:] * mask[:, :-1]  # [B, T-1, 1]
        vel_err = (pred.diff(dim=1) - target.diff(dim=1)).pow(2) * vel_mask * aux
        velocity = vel_err.sum() / (vel_mask.sum().clamp(min=1) * pred.shape[-1])
        weights = self.hparams.loss
        total = weights["recon_weight"] * recon + weights["velocity_weight"] * velocity
        losses = {"recon": recon, "velocity": velocity}
        if weights.get("joint_weight", 0.0) > 0:
            # Squared joint-position error in metres, from forward kinematics of both motions.
            joints = joint_positions(
                self.motion_norm.inverse(pred.float()), self.hparams.layout
            )  # [B, T, J, 3]
            truth = joint_positions(batch["motion"].float(), self.hparams.layout)  # [B, T, J, 3]
            error = (joints - truth).pow(2).sum(-1).mean(-1, keepdim=True)  # [B, T, 1]
            losses["joints"] = (error * mask * aux).sum() / mask.sum()
            total = total + weights["joint_weight"] * losses["joints"]
        if weights.get("contact_weight", 0.0) > 0:
            losses["contact"] = self._foot_sliding(pred, vel_mask, aux)
            total = total + weights["contact_weight"] * losses["contact"]
        return {"loss": total, **losses}, pred, target

    def _foot_sliding(self, pred: torch.Tensor, vel_mask: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """EDGE's foot-contact loss: squared foot velocity (metres per frame) wherever the predicted motion's
        own contact channels say the foot is down (above 0.5; not differentiated), each window's x `weight`
        `[B, 1, 1]`."""
        layout = self.hparams.layout
        motion = self.motion_norm.inverse(pred.float())  # [B, T, D]
        group = next(g for g in layout["groups"] if g["name"] == "foot_contact")
        feet = [layout["skeleton"]["joints"].index(joint) for joint in group["joints"]]
        joints = joint_positions(motion, layout)[:, :, feet]  # [B, T, F, 3]
        speed = joints.diff(dim=1).pow(2).sum(-1)  # [B, T-1, F]
        down = (motion[:, :-1, group_slices(layout)["foot_contact"]] > 0.5).detach()  # [B, T-1, F]
        return (speed * down * vel_mask * weight).sum() / (vel_mask.sum() * len(feet)).clamp(min=1)

    def _denoising(
        self, batch: dict, target: torch.Tensor, mask: torch.Tensor, val_batch: int | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Clean motion implied by the denoiser's prediction `[B, T, D]`, the prediction's error, and the
        weight `[B, 1, 1]` of each window's auxiliary losses: abar_t for an epsilon prediction, whose clean
        motion divides its error by sqrt(abar_t) (so the weighted error is (1 - abar_t) x its own), else 1."""
        objective, diffusion = self.objective, self.diffusion
        generator = None
        if val_batch is not None:
            generator = torch.Generator().manual_seed(objective["val_seed"] + val_batch)
        batch_size = target.shape[0]
        t = torch.randint(0, diffusion.timesteps, (batch_size,), generator=generator).to(target.device)
        noise = torch.randn(target.shape, generator=generator).to(target.device)
        keep = torch.rand(batch_size, generator=generator).to(target.device) >= objective["audio_dropout"]
        keep |= val_batch is not None  # validation scores the conditional model
        noisy = diffusion.noisy(target, t, noise)
        audio = self.model.encode(self._normalised_features(batch["features"], batch["mask"]), batch["mask"])
        prediction = self.model(noisy, t, audio, keep, batch["mask"])  # [B, T, D]
        error = (prediction - diffusion.target(target, t, noise)).pow(2) * mask
        aux = (
            diffusion.abar.to(target.device)[t]
            if diffusion.prediction == "epsilon"
            else torch.ones_like(t, dtype=target.dtype)
        )
        clean = diffusion.clean(prediction, noisy, t)
        return clean, error.sum() / (mask.sum() * target.shape[-1]), aux.to(target.dtype)[:, None, None]

    def sample(self, batch: dict, seed: int, **overrides) -> torch.Tensor:
        """Normalised motion `[B, T, D]` sampled for a batch's audio (diffusion), with the objective's
        sampling settings (see GaussianDiffusion.sample) unless overridden."""
        mask = batch["mask"]
        audio = self.model.encode(self._normalised_features(batch["features"], mask), mask)
        return self.diffusion.sample(
            lambda x, t, keep: self.model(x, t, audio, keep, mask),
            (mask.shape[0], mask.shape[1], self.motion_norm.mean.shape[0]),
            torch.Generator().manual_seed(seed),
            device=mask.device,
            **sampling_settings(self.objective, **overrides),
        )

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        losses, _, _ = self._losses(batch)
        loss = losses.pop("loss")
        self._step_finite.append(torch.isfinite(loss.detach()))
        self._step_clips += batch["clip"]
        batch_size = batch["mask"].shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        self.log_dict({f"train/{k}": v for k, v in losses.items()}, batch_size=batch_size)
        return loss

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Skip the step when a loss of its micro-batches or the gradient is not finite: dropping every
        gradient makes the optimiser leave weights and moments alone. With fp16's GradScaler, gradient
        overflow is the scaler's to skip (it happens by design while the scale settles), so only the loss
        counts. Every DDP process takes the same decision. Too many skips in a row stop training, naming
        the clips of the step's batches (this process's share of them)."""
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        norm = torch.nn.utils.get_total_norm(grads)
        self.log("train/grad_norm", norm)
        checks = torch.stack(self._step_finite)
        if getattr(self.trainer.precision_plugin, "scaler", None) is None:
            checks = torch.cat([checks, torch.isfinite(norm)[None]])
        clips, self._step_finite, self._step_clips = self._step_clips, [], []
        if not self.trainer.strategy.reduce_boolean_decision(not checks.all().item(), all=False):
            self._nonfinite_streak = 0
            return
        for p in self.parameters():
            p.grad = None
        self.nonfinite_steps += 1
        self._nonfinite_streak += 1
        self.log("train/nonfinite_steps", float(self.nonfinite_steps))
        limit = self.hparams.max_nonfinite_steps
        if self._nonfinite_streak >= limit:
            raise DivergedError(
                f"training stopped at epoch {self.current_epoch}, step {self.global_step}: {limit} steps in "
                f"a row had a non-finite loss or gradient; the last batch held clips "
                f"{', '.join(sorted(set(clips)))} (check them, lower model.optimizer.lr, or raise "
                "model.max_nonfinite_steps)"
            )

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["nonfinite_steps"] = [self.nonfinite_steps, self._nonfinite_streak]

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.nonfinite_steps, self._nonfinite_streak = checkpoint.get("nonfinite_steps", [0, 0])

    def on_validation_epoch_start(self) -> None:
        self._val_sums = {}

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        losses, pred, target = self._losses(batch, batch_idx)
        batch_size = batch["mask"].shape[0]
        # Synced so that every process agrees on the best checkpoint's name.
        self.log("val/loss", losses.pop("loss"), prog_bar=True, batch_size=batch_size, sync_dist=True)
        self.log_dict({f"val/{k}": v for k, v in losses.items()}, batch_size=batch_size, sync_dist=True)
        if self.diffusion is not None:  # the error of samples, not of one denoising step
            pred = self.sample(batch, self.objective["val_seed"] + batch_idx)
        # Per-channel sums over real frames for the normalised error of the model and of the mean pose.
        mask = batch["mask"]  # [B, T]
        pred, target = pred[mask].float(), target[mask].float()  # [N, D]
        sums = {
            "count": torch.tensor(float(target.shape[0]), device=target.device),
            "target": target.sum(0),
            "target_sq": target.pow(2).sum(0),
            "error_sq": (pred - target).pow(2).sum(0),
        }
        for key, value in sums.items():
            self._val_sums[key] = self._val_sums.get(key, 0) + value

    def on_validation_epoch_end(self) -> None:
        """`val/nmse`: squared error summed over channels / target variance summed over channels (so a
        channel that barely moves in the val split cannot dominate), for the model and for always
        predicting the training mean pose (0 in normalised units)."""
        if not self._val_sums:
            return
        sums = {k: self.all_gather(v).reshape(-1, *v.shape).sum(0) for k, v in self._val_sums.items()}
        count = sums["count"]
        variance = (sums["target_sq"] / count - (sums["target"] / count).pow(2)).sum().clamp(min=1e-8)
        self.log("val/nmse", sums["error_sq"].sum() / count / variance, prog_bar=True)
        self.log("val/nmse_mean_pose", sums["target_sq"].sum() / count / variance)

    def run_progress(self) -> Callable[[int], float]:
        """The fraction of the run done at an optimiser step: of the steps after warm-up that the trainer's
        max_epochs or max_steps allow, or of its max_time budget (training time so far, restored on resume,
        as rank 0 measures it so that every DDP process agrees; warm-up's seconds count, a sliver of any
        budget), whichever is further; of `scheduler.total_steps` after warm-up when the trainer sets none
        of them. Under a budget the rate follows the clock, so such a run does not repeat bit for bit. The
        trainer's limits and its Timer are looked up once, here, not at every step."""
        warmup = self.hparams.scheduler["warmup_steps"]
        total = self.trainer.estimated_stepping_batches
        callbacks = self.trainer.callbacks
        timer = next((c for c in callbacks if isinstance(c, Timer) and c.time_remaining() is not None), None)
        by_steps = math.isfinite(total) or timer is None
        total = total if math.isfinite(total) else self.hparams.scheduler["total_steps"]

        def progress(step: int) -> float:
            done = []
            if timer is not None:
                elapsed = timer.time_elapsed()
                budget = elapsed + timer.time_remaining()  # the duration: remaining is budget - elapsed
                done.append(self.trainer.strategy.broadcast(elapsed / budget if budget > 0 else 1.0))
            if by_steps:
                done.append((step - warmup) / max(1, total - warmup))
            return max(done)

        return progress

    def configure_optimizers(self):
        opt = self.hparams.optimizer
        # Weight decay shrinks matrices and kernels only: decaying LayerNorm gains, biases, the learned
        # query or the null-audio embedding pulls them towards 0, which is no simpler a model.
        params = list(self.model.parameters())
        decay, no_decay = PARAMETER_GROUPS
        groups = [
            {
                "name": decay,
                "params": [p for p in params if p.ndim >= 2],
                "weight_decay": opt["weight_decay"],
            },
            {"name": no_decay, "params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ]
        # Fused on a GPU: one kernel updates every parameter, where the default (foreach) launches one per
        # operation of the update. A resumed run keeps its checkpoint's choice (load_state_dict restores it).
        fused = self.device.type == "cuda"
        optimizer = torch.optim.AdamW(groups, lr=opt["lr"], betas=tuple(opt["betas"]), fused=fused)
        sched, progress = self.hparams.scheduler, self.run_progress()
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: warmup_cosine(step, sched["warmup_steps"], progress(step), sched["min_lr_ratio"]),
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
