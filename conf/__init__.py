# Makes conf/ the package `audio2motion.conf` (pyproject.toml maps it), so that the configs ship in the
# wheel and Hydra reads them as pkg://audio2motion.conf from any folder.
