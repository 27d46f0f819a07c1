"""Fill the feature cache: `python scripts/preprocess.py data=aistpp data.root=DIR` (installed:
`audio2motion-preprocess`); the code is audio2motion.cli.preprocess."""

from audio2motion.cli.preprocess import main

if __name__ == "__main__":
    main()
