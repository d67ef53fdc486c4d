"""A stand-in Hugging Face Hub for the hub tests: the HTTP protocol that hf_hub_download,
create_repo, create_branch and upload_folder speak, served from memory on 127.0.0.1.

Repos are {commit sha: {path: bytes}} plus branch refs. The server counts requests, can
serve a gated repo, and can break one file (the connection drops half-way through it).
Only what huggingface_hub 2.4 needs is implemented; the facts come from /work/shared/FACTS.md
and from reading huggingface_hub's file_download.py / _commit_api.py.
"""

import base64
import hashlib
import http.server
import json
import re
import threading
import urllib.parse
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def git_blob_sha(data):
    """The ETag the hub gives regular files: git's object id of the blob."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Repo:
    def __init__(self):
        self.commits = {}  # sha -> {path: bytes}
        self.refs = {}  # branch -> sha
        self.token = None  # when set, requests need "Authorization: Bearer <token>"
        self.gated = True  # refusals say GatedRepo; False: a private repo's bare 401 / 403


class HubServer:
    """`with HubServer() as hub: os.environ["HF_ENDPOINT"] = hub.url`"""

    def __init__(self):
        self.repos = {}
        self.requests = []  # (method, path) of every request, in order
        self.broken = set()  # paths whose download drops half-way
        self._lock = threading.Lock()
        self._commit_counter = 0
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self):
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    # -------------------------------------------------------------- repos

    def add_commit(self, repo_id, files, branch="main", sha=None):
        """A new commit on `branch` whose tree is the branch's files updated by `files`;
        `sha` serves it at a given commit id (a manifest's pinned revision)."""
        with self._lock:
            repo = self.repos.setdefault(repo_id, Repo())
            parent = repo.refs.get(branch)
            tree = dict(repo.commits[parent]) if parent else {}
            tree.update(files)
            self._commit_counter += 1
            seed = f"{repo_id}:{branch}:{parent}:{self._commit_counter}".encode()
            sha = sha or hashlib.sha1(seed + "".join(sorted(tree)).encode()).hexdigest()
            repo.commits[sha] = tree
            repo.refs[branch] = sha
            return sha

    def add_folder(self, repo_id, folder, branch="main", sha=None):
        folder = Path(folder)
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        return self.add_commit(repo_id, files, branch, sha)

    def set_file(self, repo_id, commit, path, data):
        """Change a file in place (a corrupted or tampered mirror)."""
        with self._lock:
            self.repos[repo_id].commits[commit][path] = data

    def request_count(self):
        with self._lock:
            return len(self.requests)

    # -------------------------------------------------------------- lookups used by the handler

    def resolve(self, repo_id, revision):
        """(repo, commit sha) or an error code."""
        repo = self.repos.get(repo_id)
        if repo is None:
            return None, "RepoNotFound"
        sha = repo.refs.get(revision, revision if revision in repo.commits else None)
        if sha is None:
            return repo, "RevisionNotFound"
        return repo, sha


def _handler(server):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output clean
            pass

        # ---------------------------------------------------------- plumbing

        def _record(self):
            with server._lock:
                server.requests.append((self.command, self.path))

        def _segments(self):
            raw = urllib.parse.urlsplit(self.path).path
            return [urllib.parse.unquote(part) for part in raw.strip("/").split("/")]

        def _body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(self, status, payload=b"", headers=None, content_type="application/json"):
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, status, code, message, headers=None):
            headers = {"X-Error-Code": code, "X-Error-Message": message, **(headers or {})}
            self._send(status, {"error": message}, headers)

        def _allowed(self, repo):
            if repo.token is None or self.headers.get("Authorization") == f"Bearer {repo.token}":
                return True
            status = 403 if self.headers.get("Authorization") else 401
            if repo.gated:
                self._error(status, "GatedRepo", "Access to this model is restricted: accept the conditions.")
            else:
                self._send(status, {"error": "Invalid credentials"})
            return False

        def _lookup(self, repo_id, revision):
            repo, sha = server.resolve(repo_id, revision)
            if repo is None:
                self._error(404, "RepoNotFound", "Repository not found")
            elif sha == "RevisionNotFound":
                self._error(404, "RevisionNotFound", "Invalid rev id: " + revision)
            elif self._allowed(repo):
                return repo, sha
            return None, None

        # ---------------------------------------------------------- verbs

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            self._record()
            parts = self._segments()
            if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "revision":
                return self._repo_info("/".join(parts[2:4]), "/".join(parts[5:]))
            if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "tree":
                return self._tree("/".join(parts[2:4]), parts[5], "/".join(parts[6:]))
            if parts[:2] == ["api", "models"] and len(parts) == 4:
                return self._repo_info("/".join(parts[2:4]), "main")
            if len(parts) >= 5 and parts[2] == "resolve":
                return self._resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]))
            self._error(404, "NotFound", f"no route for {self.path}")

        def do_POST(self):
            self._record()
            parts = self._segments()
            body = self._body()
            if parts == ["api", "repos", "create"]:
                return self._create_repo(json.loads(body or b"{}"))
            if parts == ["api", "validate-yaml"]:
                return self._send(200, {"errors": [], "warnings": []})
            if parts[:2] == ["api", "models"] and len(parts) >= 6:
                repo_id, action, revision = "/".join(parts[2:4]), parts[4], "/".join(parts[5:])
                if action == "preupload":
                    return self._preupload(repo_id, revision, json.loads(body))
                if action == "commit":
                    return self._commit(repo_id, revision, body)
                if action == "branch":
                    return self._create_branch(repo_id, revision, json.loads(body or b"{}"))
            self._error(404, "NotFound", f"no route for POST {self.path}")

        # ---------------------------------------------------------- downloads

        def _resolve(self, repo_id, revision, path):
            repo, sha = self._lookup(repo_id, revision)
            if repo is None:
                return
            files = repo.commits[sha]
            if path not in files:
                return self._error(404, "EntryNotFound", f"{path} does not exist", {"X-Repo-Commit": sha})
            data = files[path]
            headers = {"X-Repo-Commit": sha, "ETag": f'"{git_blob_sha(data)}"', "Accept-Ranges": "bytes"}
            start, end = self._range(len(data))
            if self.command == "HEAD":
                return self._send(200, data, headers, "application/octet-stream")
            if path in server.broken:
                return self._drop(data, start, headers)
            if start or end != len(data):
                headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(data)}"
                return self._send(206, data[start:end], headers, "application/octet-stream")
            self._send(200, data, headers, "application/octet-stream")

        def _range(self, size):
            match = _RANGE.fullmatch(self.headers.get("Range", ""))
            if not match:
                return 0, size
            end = int(match.group(2)) + 1 if match.group(2) else size
            return int(match.group(1)), min(end, size)

        def _drop(self, data, start, headers):
            """Announce the whole (remaining) file, send at most up to its middle, hang up."""
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(data) - start))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data[start : max(start, len(data) // 2)])
            self.wfile.flush()
            self.close_connection = True

        def _repo_info(self, repo_id, revision):
            repo, sha = self._lookup(repo_id, revision)
            if repo is not None:
                siblings = [{"rfilename": path} for path in sorted(repo.commits[sha])]
                info = {"id": repo_id, "modelId": repo_id, "sha": sha, "private": False, "siblings": siblings}
                self._send(200, info)

        def _tree(self, repo_id, revision, prefix):
            repo, sha = self._lookup(repo_id, revision)
            if repo is not None:
                items = [
                    {"type": "file", "oid": git_blob_sha(data), "size": len(data), "path": path}
                    for path, data in sorted(repo.commits[sha].items())
                    if path.startswith(prefix)
                ]
                self._send(200, items)

        # ---------------------------------------------------------- uploads

        def _create_repo(self, payload):
            repo_id = f"{payload.get('organization')}/{payload['name']}"
            url = f"{server.url}/{repo_id}"
            if repo_id in server.repos:
                return self._send(409, {"error": "You already created this model repo", "url": url})
            server.add_commit(repo_id, {".gitattributes": b"*.h5 filter=lfs diff=lfs merge=lfs -text\n"})
            self._send(200, {"url": url, "name": repo_id})

        def _create_branch(self, repo_id, branch, payload):
            repo, sha = self._lookup(repo_id, payload.get("startingPoint") or "main")
            if repo is None:
                return
            if branch in repo.refs:
                return self._error(409, "BranchExists", f"branch {branch} already exists")
            repo.refs[branch] = sha
            self._send(200, {})

        def _preupload(self, repo_id, revision, payload):
            repo, sha = self._lookup(repo_id, revision)
            if repo is not None:
                # Every file goes inline ("regular"): no LFS or Xet storage to stand in for.
                files = [
                    {"path": item["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
                    for item in payload["files"]
                ]
                self._send(200, {"files": files, "commitOid": sha})

        def _commit(self, repo_id, branch, body):
            repo, parent = self._lookup(repo_id, branch)
            if repo is None:
                return
            changes, deleted = {}, []
            for line in body.splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    changes[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                elif item["key"] == "deletedFile":
                    deleted.append(item["value"]["path"])
                elif item["key"] != "header":
                    return self._error(400, "Unsupported", f"this stand-in hub cannot commit {item['key']}")
            sha = server.add_commit(repo_id, changes, branch)
            for path in deleted:
                repo.commits[sha].pop(path, None)
            url = f"{server.url}/{repo_id}/commit/{sha}"
            self._send(200, {"commitUrl": url, "commitOid": sha, "success": True})

    return Handler
