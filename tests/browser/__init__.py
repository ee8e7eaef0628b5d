"""The browser check: tfjs-examples' ``mnist/data.js`` way of loading a sprite, run in headless
Chromium, against what ``mnist-sprite convert`` writes, value by value.

``python -m tests.browser --help`` (``make browser-check``). ``install.py`` gets Chromium and
the npm packages into ``.browser/``; ``server.py`` serves the page on 127.0.0.1; ``check.py``
runs one case and compares; ``cases.py`` makes the re-encodings CI checks; ``page/`` and
``drive.cjs`` are the browser side.
"""
