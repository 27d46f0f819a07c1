"""Train audio2motion: `python train.py [hydra overrides]` (docs/training.md, conf/train.yaml); installed,
the same command is `audio2motion-train`."""

from audio2motion.cli.train import main

if __name__ == "__main__":
    main()
