"""A training run as pictures: `python scripts/plot_run.py RUN_DIR [--out DIR]`; the code is
audio2motion.cli.plot_run."""

from audio2motion.cli.plot_run import main

if __name__ == "__main__":
    main()
