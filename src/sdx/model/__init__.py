"""Talking to models: model names to endpoints (registry), requests and retries (client), failures to sentences."""
