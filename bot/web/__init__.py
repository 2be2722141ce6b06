"""The web desk for coaches, coordinators and admins (FastAPI, Jinja2, htmx): a second face on
the same desk rules (bot/desk/) and statistics (bot/stats.py) as the Telegram desk."""
