# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""A local Hub-protocol server for the Hub tests, driven by the real ``huggingface_hub`` / ``datasets`` /
``transformers`` / ``peft`` clients (the endpoints of ``../shared/spec/hf-stack-notes.md`` §10, plus branches).

Repos, their settings and their commits live in memory; file contents (regular and LFS alike) are stored by sha256
under ``storage``, a temporary folder. ``snapshot()`` returns everything a client could have changed (repos, settings,
branches, files, stored objects), so that a test can check that nothing was uploaded after a refusal.

Tokens map to users: ``{token: {"name": ..., "role": "write" | "read", "orgs": [...]}}``. Mutations need a write
token of the repo's namespace; private or gated repos are readable with any known token, others by anyone.
"""

import base64
import copy
import hashlib
import json
import re
import secrets
import tempfile
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml


TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
LFS_SUFFIXES = (".parquet", ".safetensors", ".bin", ".arrow", ".pt", ".pth", ".h5", ".msgpack", ".gguf")
LFS_THRESHOLD = 10 * 1024 * 1024
EMPTY_COMMIT = "0" * 40


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, body: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.body = status, code, body or {}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class HubState:
    """Repos (settings, branches, commits) in memory; object bytes on disk under ``storage / "objects"``."""

    def __init__(self, storage: Path, tokens: dict[str, dict]):
        self.storage, self.tokens = storage, tokens
        (storage / "objects").mkdir(parents=True, exist_ok=True)
        self.repos: dict[tuple[str, str], dict] = {}
        self.tickets: dict[str, str] = {}
        self.lock = threading.RLock()

    # objects
    def object_path(self, oid: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", oid):
            raise HubError(400, f"bad oid {oid!r}")
        return self.storage / "objects" / oid

    def has_object(self, oid: str) -> bool:
        return self.object_path(oid).is_file()

    def put_object(self, data: bytes) -> str:
        oid = hashlib.sha256(data).hexdigest()
        path = self.object_path(oid)
        if not path.is_file():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return oid

    # repos
    def repo(self, repo_type: str, repo_id: str) -> dict:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    def commit_of(self, repo: dict, revision: str) -> str:
        revision = unquote(revision)
        if revision in repo["branches"]:
            return repo["branches"][revision]
        if revision in repo["commits"]:
            return revision
        raise HubError(404, f"Revision {revision} not found", "RevisionNotFound")

    def tree(self, repo: dict, revision: str) -> tuple[str, dict]:
        sha = self.commit_of(repo, revision)
        return sha, repo["commits"][sha]["files"]

    def snapshot(self) -> dict:
        """Everything a client could have changed: repos with settings, branches and files, and the stored objects."""
        with self.lock:
            repos = {
                f"{t}:{i}": {
                    "private": r["private"],
                    "gated": r["gated"],
                    "branches": {b: sorted(r["commits"][s]["files"]) for b, s in r["branches"].items()},
                    "commits": len(r["commits"]),
                }
                for (t, i), r in self.repos.items()
            }
            objects = sorted(p.name for p in (self.storage / "objects").iterdir())
            return copy.deepcopy({"repos": repos, "objects": objects})

    def file_bytes(self, repo_type: str, repo_id: str, path: str, revision: str = "main") -> bytes:
        """The bytes of one file of a repo (for tests)."""
        with self.lock:
            _, files = self.tree(self.repo(repo_type, repo_id), revision)
            return self.object_path(files[path]["sha256"]).read_bytes()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format, *args):  # BaseHTTPRequestHandler signature; silent
        pass

    # ------------------------------------------------------------------ plumbing
    @property
    def state(self) -> HubState:
        return self.server.state

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload, headers: dict | None = None, content_type="application/json"):
        self._send(status, json.dumps(payload).encode(), headers, content_type)

    def _user(self) -> dict | None:
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        return self.state.tokens.get(token) if token else None

    def _require_write(self, repo_id: str) -> dict:
        user = self._user()
        if user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        namespace = repo_id.split("/")[0]
        if user.get("role") != "write" or namespace not in (user["name"], *user.get("orgs", [])):
            raise HubError(403, f"You don't have the rights to write to {repo_id}")
        return user

    def _readable(self, repo: dict) -> None:
        if (repo["private"] or repo["gated"]) and self._user() is None:
            raise HubError(404 if repo["private"] else 401, f"Repository {repo['id']} not found", "RepoNotFound")

    def _dispatch(self):
        body = self._body()  # always drain the request (keep-alive)
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/")[1:]]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            with self.state.lock:
                self.server.requests.append((self.command, url.path))
                self._route(parts, query, body)
        except HubError as err:
            headers = (
                {"X-Error-Code": err.code, "X-Error-Message": str(err)} if err.code else {"X-Error-Message": str(err)}
            )
            self._json(err.status, {"error": str(err), **err.body}, headers)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _dispatch

    # ------------------------------------------------------------------ routes
    def _route(self, parts: list[str], query: dict, body: bytes):
        method = self.command
        if parts[:2] == ["api", "whoami-v2"]:
            return self._whoami()
        if parts[:2] == ["api", "validate-yaml"]:
            return self._json(200, {"errors": [], "warnings": []})
        if parts[:2] == ["api", "repos"] and len(parts) == 3:
            return self._create(json.loads(body)) if parts[2] == "create" else self._delete(json.loads(body))
        if parts[0] == "lfs-upload" and len(parts) == 3 and method == "PUT":
            return self._lfs_put(parts[1], parts[2], body)
        if parts[0] == "api" and len(parts) >= 4 and parts[1] in TYPES:
            return self._api(TYPES[parts[1]], f"{parts[2]}/{parts[3]}", parts[4:], query, body)
        repo_type = TYPES.get(parts[0]) if parts[0] in ("datasets", "spaces") else "model"
        rest = parts[1:] if repo_type != "model" else parts
        if len(rest) >= 2 and rest[1].endswith(".git") and rest[2:] == ["info", "lfs", "objects", "batch"]:
            return self._lfs_batch(repo_type, f"{rest[0]}/{rest[1][:-4]}", json.loads(body))
        if len(rest) >= 5 and rest[2] == "resolve":
            return self._resolve(repo_type, f"{rest[0]}/{rest[1]}", rest[3], "/".join(rest[4:]))
        raise HubError(404, f"no route for {method} {self.path}")

    def _api(self, repo_type: str, repo_id: str, rest: list[str], query: dict, body: bytes):
        method, state = self.command, self.state
        repo = state.repo(repo_type, repo_id)
        if method == "PUT" and rest == ["settings"]:
            return self._settings(repo, json.loads(body or b"{}"))
        if method == "POST" and rest[:1] == ["preupload"]:
            self._require_write(repo_id)
            return self._preupload(repo, json.loads(body))
        if method == "POST" and rest[:1] == ["commit"]:
            return self._commit(repo, "/".join(rest[1:]), body)
        if method == "POST" and rest[:1] == ["branch"]:
            return self._branch(repo, "/".join(rest[1:]), json.loads(body or b"{}"))
        self._readable(repo)
        if method == "GET" and not rest:
            return self._info(repo, "main")
        if method == "GET" and rest[:1] == ["revision"]:
            return self._info(repo, "/".join(rest[1:]))
        if method == "GET" and rest == ["refs"]:
            branches = [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": s} for b, s in repo["branches"].items()]
            return self._json(200, {"branches": branches, "tags": [], "converts": []})
        if method == "GET" and rest[:1] == ["tree"] and len(rest) >= 2:
            return self._tree(repo, rest[1], "/".join(rest[2:]), query.get("recursive") in ("1", "true", "True"))
        if method == "POST" and rest[:1] == ["paths-info"] and len(rest) == 2:
            return self._paths_info(repo, rest[1], body)
        raise HubError(404, f"no route for {method} {self.path}")

    # ------------------------------------------------------------------ handlers
    def _whoami(self):
        user = self._user()
        if user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        orgs = [{"type": "org", "name": o, "fullname": o} for o in user.get("orgs", [])]
        role = user.get("role", "write")
        auth = {"type": "access_token", "accessToken": {"displayName": "test", "role": role}}
        self._json(200, {"type": "user", "name": user["name"], "fullname": user["name"], "orgs": orgs, "auth": auth})

    def _create(self, payload: dict):
        repo_type = payload.get("type") or "model"
        name, org = payload["name"], payload.get("organization")
        user = self._user()
        repo_id = f"{org or (user or {}).get('name')}/{name}"
        self._require_write(repo_id)
        if (repo_type, repo_id) in self.state.repos:
            url = f"{self.server.url}/{PREFIX[repo_type]}{repo_id}"  # the Hub's 409 names the existing repo
            raise HubError(409, "You already created this repo", body={"url": url})
        private = payload.get("private")
        if "visibility" in payload:
            private = payload["visibility"] != "public"
        self.state.repos[(repo_type, repo_id)] = {
            "id": repo_id,
            "type": repo_type,
            "private": bool(private),
            "gated": False,
            "created": _now(),
            "branches": {"main": EMPTY_COMMIT},
            "commits": {EMPTY_COMMIT: {"files": {}, "summary": "initial commit", "parent": None, "date": _now()}},
        }
        base = self.server.url
        self._json(200, {"url": f"{base}/{PREFIX[repo_type]}{repo_id}", "name": repo_id, "id": repo_id})

    def _delete(self, payload: dict):
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or self._user()['name']}/{payload['name']}"
        self._require_write(repo_id)
        self.state.repo(repo_type, repo_id)
        del self.state.repos[(repo_type, repo_id)]
        self._json(200, {})

    def _settings(self, repo: dict, payload: dict):
        self._require_write(repo["id"])
        if "gated" in payload:
            if payload["gated"] not in ("auto", "manual", False):
                raise HubError(400, f"bad gated value {payload['gated']!r}")
            repo["gated"] = payload["gated"]
        if "private" in payload:
            repo["private"] = bool(payload["private"])
        if "visibility" in payload:
            repo["private"] = payload["visibility"] != "public"
        self._json(200, {})

    def _info(self, repo: dict, revision: str):
        sha, files = self.state.tree(repo, revision)
        card = None
        if "README.md" in files:
            text = self.state.object_path(files["README.md"]["sha256"]).read_text(encoding="utf-8")
            if text.startswith("---\n") and "\n---\n" in text[3:]:
                card = yaml.safe_load(text[4 : text.index("\n---\n", 3)])
        siblings = [
            {
                "rfilename": p,
                "size": f["size"],
                "blobId": f["oid"],
                **({"lfs": self._sibling_lfs(f)} if f["lfs"] else {}),
            }
            for p, f in sorted(files.items())
        ]
        commit = repo["commits"][sha]
        info = {
            "_id": hashlib.sha1(repo["id"].encode()).hexdigest()[:24],
            "id": repo["id"],
            "author": repo["id"].split("/")[0],
            "sha": sha,
            "private": repo["private"],
            "gated": repo["gated"],
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": (card or {}).get("tags") or [],
            "siblings": siblings,
            "createdAt": repo["created"],
            "lastModified": commit["date"],
            "cardData": card,
        }
        if repo["type"] == "model":
            info["modelId"] = repo["id"]
        self._json(200, info)

    @staticmethod
    def _sibling_lfs(entry: dict) -> dict:
        return {"sha256": entry["sha256"], "size": entry["size"], "pointerSize": 134}

    @staticmethod
    def _lfs(entry: dict) -> dict:
        return {"oid": entry["sha256"], "size": entry["size"], "pointerSize": 134}

    def _preupload(self, repo: dict, payload: dict):
        out = []
        for f in payload.get("files", []):
            lfs = f["path"].endswith(LFS_SUFFIXES) or int(f.get("size") or 0) > LFS_THRESHOLD
            out.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False})
        self._json(200, {"files": out, "commitOid": repo["branches"].get("main")})

    def _lfs_batch(self, repo_type: str, repo_id: str, payload: dict):
        self.state.repo(repo_type, repo_id)
        self._require_write(repo_id)
        objects = []
        for obj in payload.get("objects", []):
            entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if not self.state.has_object(obj["oid"]):
                ticket = secrets.token_hex(8)  # a pre-signed upload URL, as the Hub's storage gives
                self.state.tickets[ticket] = obj["oid"]
                href = f"{self.server.url}/lfs-upload/{obj['oid']}/{ticket}"
                entry["actions"] = {"upload": {"href": href, "header": {}}}
            objects.append(entry)
        self._json(200, {"transfer": "basic", "objects": objects}, content_type="application/vnd.git-lfs+json")

    def _lfs_put(self, oid: str, ticket: str, body: bytes):
        if self.state.tickets.pop(ticket, None) != oid:
            raise HubError(403, "upload URL not issued by a batch request")
        if hashlib.sha256(body).hexdigest() != oid:
            raise HubError(400, "sha256 of the body does not match the oid")
        self.state.put_object(body)
        self._send(200)

    def _commit(self, repo: dict, revision: str, body: bytes):
        self._require_write(repo["id"])
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "commit payload must start with a header line")
        parent = self.state.commit_of(repo, revision)
        files = dict(repo["commits"][parent]["files"])
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            if key == "file":
                data = base64.b64decode(value["content"]) if value.get("encoding") == "base64" else value["content"]
                data = data if isinstance(data, bytes) else data.encode()
                sha256 = self.state.put_object(data)
                files[value["path"]] = {"sha256": sha256, "oid": _git_blob_sha1(data), "size": len(data), "lfs": False}
            elif key == "lfsFile":
                if not self.state.has_object(value["oid"]):
                    raise HubError(400, f"LFS object {value['oid']} of {value['path']} was never uploaded")
                files[value["path"]] = {
                    "sha256": value["oid"],
                    "oid": value["oid"],
                    "size": value["size"],
                    "lfs": True,
                }
            elif key == "deletedFile":
                files.pop(value["path"], None)
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                files = {p: f for p, f in files.items() if not p.startswith(prefix)}
            else:
                raise HubError(400, f"unsupported commit operation {key!r}")
        summary = lines[0]["value"].get("summary", "")
        sha = hashlib.sha1(json.dumps([parent, summary, sorted(files.items()), _now()]).encode()).hexdigest()
        repo["commits"][sha] = {"files": files, "summary": summary, "parent": parent, "date": _now()}
        branch = unquote(revision) if unquote(revision) in repo["branches"] else "main"
        repo["branches"][branch] = sha
        url = f"{self.server.url}/{PREFIX[repo['type']]}{repo['id']}/commit/{sha}"
        self._json(200, {"commitUrl": url, "commitOid": sha, "success": True, "pullRequestUrl": None})

    def _branch(self, repo: dict, branch: str, payload: dict):
        self._require_write(repo["id"])
        if branch in repo["branches"]:
            raise HubError(409, f"Reference refs/heads/{branch} already exists")
        repo["branches"][branch] = self.state.commit_of(repo, payload.get("startingPoint") or "main")
        self._json(200, {})

    def _entries(self, files: dict, folder: str, recursive: bool) -> list[dict]:
        prefix = folder.strip("/") + "/" if folder.strip("/") else ""
        out, dirs = [], set()
        for path, f in sorted(files.items()):
            if not path.startswith(prefix):
                continue
            rel = path[len(prefix) :]
            parents = rel.split("/")[:-1]
            for i in range(len(parents) if recursive else min(1, len(parents))):
                dirs.add(prefix + "/".join(parents[: i + 1]))
            if recursive or not parents:
                out.append(self._file_entry(path, f))
        out += [{"type": "directory", "path": d, "oid": hashlib.sha1(d.encode()).hexdigest()} for d in sorted(dirs)]
        return out

    def _file_entry(self, path: str, f: dict) -> dict:
        entry = {"type": "file", "path": path, "size": f["size"], "oid": f["oid"]}
        if f["lfs"]:
            entry["lfs"] = self._lfs(f)
        return entry

    def _tree(self, repo: dict, revision: str, folder: str, recursive: bool):
        _, files = self.state.tree(repo, revision)
        if folder.strip("/") and not any(p.startswith(folder.strip("/") + "/") for p in files):
            raise HubError(404, f"{folder} does not exist", "EntryNotFound")
        self._json(200, self._entries(files, folder, recursive))

    def _paths_info(self, repo: dict, revision: str, body: bytes):
        _, files = self.state.tree(repo, revision)
        if self.headers.get("Content-Type", "").startswith("application/json"):
            paths = json.loads(body).get("paths", [])
        else:
            paths = parse_qs(body.decode()).get("paths", [])
        paths = paths if isinstance(paths, list) else [paths]
        out = []
        for path in paths:
            path = path.strip("/")
            if path in files:
                out.append(self._file_entry(path, files[path]))
            elif any(p.startswith(path + "/") for p in files) or not path:
                out.append({"type": "directory", "path": path, "oid": hashlib.sha1(path.encode()).hexdigest()})
        self._json(200, out)

    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str):
        repo = self.state.repo(repo_type, repo_id)
        self._readable(repo)
        sha, files = self.state.tree(repo, revision)
        if path not in files:
            raise HubError(404, f"Entry {path} not found", "EntryNotFound")
        f = files[path]
        data = self.state.object_path(f["sha256"]).read_bytes()
        headers = {
            "X-Repo-Commit": sha,
            "ETag": f'"{f["sha256"] if f["lfs"] else f["oid"]}"',
            "Accept-Ranges": "bytes",
        }
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        if match and data:
            start = int(match.group(1)) if match.group(1) else max(0, len(data) - int(match.group(2)))
            end = int(match.group(2)) if match.group(1) and match.group(2) else len(data) - 1
            end = min(end, len(data) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return self._send(206, data[start : end + 1], headers, "application/octet-stream")
        self._send(200, data, headers, "application/octet-stream")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: HubState
    url: str
    requests: list


class HubServer:
    """``with HubServer(tokens) as hub:`` serves on ``hub.url`` (127.0.0.1, a free port) until the block ends."""

    def __init__(self, tokens: dict[str, dict], storage: str | Path | None = None):
        self._tmp = None if storage else tempfile.TemporaryDirectory(prefix="hub-server-")
        self.storage = Path(storage or self._tmp.name)
        self.state = HubState(self.storage, tokens)
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.state, self._server.requests = self.state, []
        self.url = self._server.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request so far."""
        return self._server.requests

    def snapshot(self) -> dict:
        return self.state.snapshot()

    def repo(self, repo_type: str, repo_id: str) -> dict:
        with self.state.lock:
            return copy.deepcopy(self.state.repo(repo_type, repo_id))

    def file_bytes(self, repo_type: str, repo_id: str, path: str, revision: str = "main") -> bytes:
        return self.state.file_bytes(repo_type, repo_id, path, revision)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._tmp is not None:
            self._tmp.cleanup()
