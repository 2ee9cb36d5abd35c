"""Terminal output: the raw/rendered choice, live Markdown, sanitizing untrusted text."""
