#!/usr/bin/env python
import os

from himaya.__main__ import main

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    main()
