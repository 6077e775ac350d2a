"""Reads one streamed answer of llm-stream with real Python clients, and says what
each saw, as JSON on stdout.

    python python_clients.py '{"prompt": "...", "servers": [{"name": "...", "url": "http://127.0.0.1:PORT"}]}'

Clients: the official `openai` package (`chat.completions.create(stream=True)` with
`base_url`), and `httpx-sse` (`connect_sse` over `httpx`). Every server of the list
is read by each client at the same time (threads), so the whole run takes about as
long as one answer. Each result: the client and its version, the server's name,
the chunks seen, the empty ones, the exceptions (type and message), the text, the
finish reason, the usage, and the response's `Content-Encoding`.
"""

import json
import sys
import threading
import traceback

import httpx
import httpx_sse
import openai

try:
    from importlib.metadata import version
except ImportError:  # pragma: no cover
    version = None


def package_version(name, fallback):
    try:
        return version(name) if version else fallback
    except Exception:  # noqa: BLE001
        return fallback


def result(client, client_version, server):
    return {
        "client": client,
        "version": client_version,
        "server": server,
        "events": 0,
        "empty": 0,
        "exceptions": [],
        "content": "",
        "finish": None,
        "usage": None,
        "done": False,
        "coding": None,
    }


def describe(error):
    return f"{type(error).__name__}: {error}"


def with_openai(server, prompt):
    seen = result("openai-python", openai.__version__, server["name"])
    client = openai.OpenAI(
        base_url=server["url"] + "/v1", api_key="test", max_retries=0, timeout=30
    )
    try:
        stream = client.chat.completions.create(
            model="fake-1",
            messages=[{"role": "user", "content": prompt}],
            stream=True,
            stream_options={"include_usage": True},
        )
        seen["coding"] = stream.response.headers.get("content-encoding")
        for chunk in stream:
            seen["events"] += 1
            if chunk.usage is not None:
                seen["usage"] = chunk.usage.model_dump(
                    include={"prompt_tokens", "completion_tokens", "total_tokens"}
                )
            if not chunk.choices and chunk.usage is None:
                seen["empty"] += 1
            for choice in chunk.choices:
                if choice.delta is not None and choice.delta.content:
                    seen["content"] += choice.delta.content
                if choice.finish_reason:
                    seen["finish"] = choice.finish_reason
        # The package stops at `data: [DONE]` and hides it.
        seen["done"] = True
    except Exception as error:  # noqa: BLE001
        seen["exceptions"].append(describe(error))
    finally:
        client.close()
    return seen


def with_httpx_sse(server, prompt):
    seen = result("httpx-sse", package_version("httpx-sse", "?"), server["name"])
    body = {
        "model": "fake-1",
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    try:
        with httpx.Client(timeout=30) as client:
            with httpx_sse.connect_sse(
                client, "POST", server["url"] + "/v1/chat/completions", json=body
            ) as source:
                source.response.raise_for_status()
                seen["coding"] = source.response.headers.get("content-encoding")
                for event in source.iter_sse():
                    if event.data == "[DONE]":
                        seen["done"] = True
                        break
                    seen["events"] += 1
                    if event.data == "":
                        seen["empty"] += 1
                        continue
                    try:
                        chunk = json.loads(event.data)
                    except Exception as error:  # noqa: BLE001
                        seen["exceptions"].append(describe(error))
                        continue
                    if chunk.get("usage"):
                        seen["usage"] = chunk["usage"]
                    for choice in chunk.get("choices", []):
                        content = (choice.get("delta") or {}).get("content")
                        if content:
                            seen["content"] += content
                        if choice.get("finish_reason"):
                            seen["finish"] = choice["finish_reason"]
    except Exception as error:  # noqa: BLE001
        seen["exceptions"].append(describe(error))
    return seen


CLIENTS = [with_openai, with_httpx_sse]


def main():
    job = json.loads(sys.argv[1])
    results = []
    lock = threading.Lock()

    def run(client, server):
        try:
            seen = client(server, job["prompt"])
        except Exception:  # noqa: BLE001
            seen = {"client": client.__name__, "server": server["name"],
                    "exceptions": [traceback.format_exc()]}
        with lock:
            results.append(seen)

    threads = [
        threading.Thread(target=run, args=(client, server))
        for client in CLIENTS
        for server in job["servers"]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    json.dump({"httpx": httpx.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
