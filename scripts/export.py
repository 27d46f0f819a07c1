"""Checkpoint -> self-contained model file: `python scripts/export.py ckpt=PATH format=torchscript|onnx`
(installed: `audio2motion-export`); the code is audio2motion.cli.export."""

from audio2motion.cli.export import main

if __name__ == "__main__":
    main()
