"""Allow ``python -m twilio_es_cli``."""

from twilio_es_cli.cli import main

if __name__ == "__main__":
    main()
