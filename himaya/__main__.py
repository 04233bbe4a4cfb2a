"""The `himaya` command: Django's manage.py under the product's name (SPEC §4.2)."""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    argv[0] = "himaya"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
