"""The model is shown as the user named it (an alias or provider:model) in every place sdx shows it: the footers,
`history`, `show`/`export`, the batch header and `index.md`; `-C -m other` shows the model that answered last."""

from __future__ import annotations

import json
import re

from tests.runner import stored_conversations


def test_the_model_is_shown_as_named_everywhere(sdx, fake):
    sdx.write_config(sdx.config_file.read_text() + '\n[aliases]\nfast = "openrouter:vendor/slow-model"\n')
    fake.scenario.model_reported = "vendor/slow-model-2024-07"  # what the server calls it
    asked = sdx.call("ask", "-m", "fast", "Design a cache", tty=True)
    assert asked.code == 0 and re.search(r"fast · \d+ tokens", asked.stderr) and "slow-model" not in asked.stderr, (
        asked.stderr
    )
    chat = sdx.call("chat", "-m", "fast", input="Design a feed\n", tty=True)
    assert re.search(r"fast · [\d,]+ in / ", chat.stderr) and "slow-model" not in chat.stderr, chat.stderr
    listed = json.loads(sdx.call("history", "--json").out)
    assert [item["model"] for item in listed] == ["fast", "fast"]
    assert "  fast  " in sdx.call("history").out
    shown = sdx.call("show", listed[0]["id"]).out
    assert shown.splitlines()[2].startswith("*chat · fast · ") and "\n*fast · 50 → " in shown
    assert "slow-model" not in shown

    (sdx.home / "q.txt").write_text("Design a cache\n")
    batch = sdx.call("batch", "q.txt", "--out", "guide", "-m", "fast")
    assert batch.code == 0 and "to answer with fast into guide" in batch.stderr
    index = (sdx.home / "guide" / "index.md").read_text()
    assert "model `fast`" in index and "| done | fast |" in index and "slow-model" not in index


def test_continuing_with_another_model_shows_the_one_that_answered_last(sdx, fake):
    assert sdx.call("ask", "Design a cache").code == 0
    assert sdx.call("ask", "-C", "-m", "openrouter:vendor/other", "How to shard it?").code == 0
    (conversation,) = stored_conversations(sdx)
    assert conversation.model == "openrouter:vendor/other"
    assert [turn.model for turn in conversation.turns] == ["gpt-4o-mini", "openrouter:vendor/other"]
    assert json.loads(sdx.call("history", "--json").out)[0]["model"] == "openrouter:vendor/other"
    shown = sdx.call("show").out
    assert "*ask · openrouter:vendor/other · " in shown
    assert "\n*gpt-4o-mini · " in shown and "\n*openrouter:vendor/other · " in shown
    assert sdx.call("ask", "-C", "And caching?").code == 0  # -C alone goes on with the last one
    assert [request.body["model"] for request in fake.chat_requests()][-1] == "vendor/other"
