"""Motions of one audio side by side in one web page: `python scripts/view.py a.npz b.npz ... [audio=FILE]
out=page.html` (installed: `audio2motion-view`); the code is audio2motion.cli.view."""

from audio2motion.cli.view import main

if __name__ == "__main__":
    main()
