"""System design knowledge with no I/O: prompts, example questions, capacity estimates, rubrics."""
