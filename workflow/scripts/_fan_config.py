"""Training settings from the workflow config (shared by the FAN rule scripts)."""

from neuroface.fan.device import resolve_device
from neuroface.fan.train import BOX_JITTER_ONLY, Augmentation, TrainingConfig


def training_config(fan: dict, stage: str, loss: str, trained_stacks: int | None) -> TrainingConfig:
    """``fan.<stage>`` plus the shared seed, threads, device (``auto`` resolved here, on the node
    that runs the job) and DataLoader workers; ``trained_stacks`` as :class:`TrainingConfig`'s."""
    section = fan[stage]
    return TrainingConfig(
        epochs=section["epochs"],
        batch_size=section["batch_size"],
        learning_rate=section["learning_rate"],
        lr_steps={int(k): float(v) for k, v in section["lr_steps"].items()},
        loss=loss,
        trained_stacks=trained_stacks,
        augmentation=Augmentation() if section.get("augmentation", True) else BOX_JITTER_ONLY,
        seed=fan["seed"],
        threads=fan["threads"],
        device=resolve_device(fan["device"]),
        workers=fan["workers"],
        mixed_precision=fan["mixed_precision"],
    )
