"""Serve a GGUF model with llama.cpp's own HTTP server (through `xllamacpp`) until stdin closes.

Run by the e2e fixtures as a separate process, so a test can SIGKILL it mid-answer:

    python tests/e2e/llama_server.py --model M.gguf [--alias smollm2] [--ctx 2048] [--parallel 1] [--threads 1]
        [--seed 42] [--ignore-eos]

It binds 127.0.0.1 on a free port chosen by the kernel (no race with other processes) and prints one JSON line
on stdout, `{"url": "http://127.0.0.1:PORT", "port": PORT}`, once the model is loaded. llama.cpp logs go to
stderr. It exits when its stdin reaches EOF (the parent closed it or died) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from urllib.parse import urlsplit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="path of the .gguf file")
    parser.add_argument("--alias", default="smollm2", help="model name the server lists and answers as")
    parser.add_argument("--ctx", type=int, default=2048, help="context window in tokens (all slots together)")
    parser.add_argument("--parallel", type=int, default=1, help="requests served at the same time")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1 is fastest on a busy 2-core box)")
    parser.add_argument("--seed", type=int, default=42, help="sampling seed: the same question gets the same answer")
    parser.add_argument("--ignore-eos", action="store_true", help="never stop early: always write max_tokens")
    args = parser.parse_args()

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}  # a set of names: a plain str would become a set of its characters
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the kernel picks a free port; listening_address tells which
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.sampling.seed = args.seed
    params.sampling.ignore_eos = args.ignore_eos

    server = xllamacpp.Server(params)  # loads the model, then serves on a background thread
    url = server.listening_address.rstrip("/")
    print(json.dumps({"url": url, "port": urlsplit(url).port}), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()  # block until the parent closes our stdin (or goes away)
    # Not `del server`: its graceful shutdown waits forever while a request is in flight. Exiting closes the
    # sockets, which is all a client needs to notice.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
