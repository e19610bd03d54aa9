"""Entry point: `flask --app run ...` and `gunicorn run:app`."""

from cms import create_app

app = create_app()
