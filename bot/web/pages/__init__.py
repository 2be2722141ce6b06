"""Page routes of the web desk, one module per kind of user."""
