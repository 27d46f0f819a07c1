"""Audio file(s) + checkpoint -> motion: `python scripts/infer.py ckpt=PATH audio=FILE_OR_DIR out=DIR`
(installed: `audio2motion-infer`); the code is audio2motion.cli.infer."""

from audio2motion.cli.infer import main

if __name__ == "__main__":
    main()
