"""Write a synthetic data set in the folder format: `python scripts/make_synthetic.py out=DIR`; the
code is audio2motion.cli.make_synthetic."""

from audio2motion.cli.make_synthetic import main

if __name__ == "__main__":
    main()
