"""Checkpoint or motion files + data set -> report: `python scripts/evaluate.py ckpt=PATH data=aistpp
data.root=DIR`, or `generated=DIR` for files some system wrote (installed: `audio2motion-evaluate`); the
code is audio2motion.cli.evaluate."""

from audio2motion.cli.evaluate import main

if __name__ == "__main__":
    main()
