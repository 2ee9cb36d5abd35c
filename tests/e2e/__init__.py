"""End-to-end tests: sdx against a real LLM server (see conftest.py)."""
