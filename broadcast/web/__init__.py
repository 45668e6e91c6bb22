"""Vietnamese server-rendered pages for commune staff."""
