"""The extension itself: settings, configuration, auth on every route, XSRF, OpenAPI, the
installed server config, and clean start/stop."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth import Authorizer
from tornado import web
from tornado.httpclient import HTTPClientError

import jupyter_pipes
from jupyter_pipes.server import PipesApp
from jupyter_pipes.server.handlers import API, ROUTES
from jupyter_pipes.server.handlers.meta import openapi_document

from .helpers import Fetch, get_json

REPO_ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "post", "put", "delete", "patch", "head")
SAMPLE = {
    "repo": "data",
    "branch": "master",
    "ref": "master",
    "pipeline": "p",
    "job": "abcd",
    "datum": "abcd",
    "commit": "abcd",
    "service": "model",
}


def route_methods() -> list[tuple[str, str]]:
    """``(url, METHOD)`` of every route and every verb its handler implements."""
    out = []
    for pattern, handler in ROUTES:
        url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: SAMPLE[m.group(1)], pattern)
        for verb in METHODS:
            if getattr(handler, verb) is not getattr(web.RequestHandler, verb):
                out.append((url, verb.upper()))
    return out


def normalised_routes() -> dict[str, set[str]]:
    """The route table as OpenAPI paths (``{name}`` parameters, relative to ``/pipes/api``)."""
    table: dict[str, set[str]] = {}
    for pattern, handler in ROUTES:
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern).removeprefix(API)
        table[path] = {
            v for v in METHODS if getattr(handler, v) is not getattr(web.RequestHandler, v)
        }
    return table


async def test_settings_report_versions_and_store(api: Fetch, store_path: Path) -> None:
    settings = await get_json(api, "settings")
    assert settings["version"] == jupyter_pipes.__version__
    assert settings["jupyter_server_version"]
    assert settings["store"] == str(store_path)
    assert settings["controller"] is False
    assert settings["max_upload_size"] == 512 * 1024 * 1024


@pytest.mark.parametrize("pipes_config", [{"run_controller": False}])
async def test_default_store_is_in_the_root_dir(
    api: Fetch, jp_root_dir: Path, pipes_app: PipesApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pipes_app.store == str(jp_root_dir / ".pipes")
    assert (jp_root_dir / ".pipes").is_dir()
    await api("repos", method="POST", body='{"name": "data"}')
    assert (jp_root_dir / ".pipes" / "metadata.sqlite").exists()


def test_the_extension_point_is_light_and_lazy() -> None:
    code = (
        "import sys, jupyter_pipes\n"
        "assert 'jupyter_server' not in sys.modules, 'import jupyter_pipes loads the server'\n"
        "(point,) = jupyter_pipes._jupyter_server_extension_points()\n"
        "assert point['module'] == 'jupyter_pipes.server', point\n"
        "assert point['app'].name == 'jupyter_pipes'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


async def test_every_route_needs_authentication(
    jp_serverapp: Any, http_server_client: Any, jp_base_url: str, pipes_app: PipesApp
) -> None:
    extensions = jp_serverapp.extension_manager.extensions
    assert {name for name, ext in extensions.items() if ext.enabled} == {"jupyter_pipes"}
    routes = route_methods()
    assert len(routes) >= 30
    for url, method in routes:
        resp = await http_server_client.fetch(
            jp_base_url.rstrip("/") + url,
            method=method,
            body=b"{}" if method in ("POST", "PUT") else None,
            allow_nonstandard_methods=True,
            raise_error=False,
            follow_redirects=False,
        )
        assert resp.code in (401, 403), f"{method} {url} answered {resp.code} without a token"


class NoCodeExecution(Authorizer):
    """Lets users read and write data, but not run code."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "kernels" and action == "execute")


@pytest.mark.parametrize("server_config", [{"authorizer_class": NoCodeExecution}])
async def test_defining_or_running_pipelines_needs_the_right_to_run_code(
    api: Fetch, client: Any
) -> None:
    client.create_repo("data")
    assert (await api("repos", method="POST", body='{"name": "more"}')).code == 201
    spec = {
        "pipeline": {"name": "p"},
        "input": {"pfs": {"repo": "data", "glob": "/"}},
        "transform": {"cmd": ["true"]},
    }
    for parts, method in ((("pipelines",), "POST"), (("pipelines", "p"), "PUT")):
        with pytest.raises(HTTPClientError) as denied:
            await api(*parts, method=method, body=json.dumps(spec))
        assert denied.value.code == 403
    client.create_pipeline(spec)
    with pytest.raises(HTTPClientError) as denied:
        await api("pipelines", "p", "jobs", method="POST")
    assert denied.value.code == 403
    assert (await get_json(api, "pipelines", "p"))["name"] == "p"
    assert (await api("pipelines", "p", method="DELETE")).code == 204


async def test_xsrf_is_enforced_for_cookie_authenticated_posts(
    jp_serverapp: Any, http_server_client: Any, jp_base_url: str, pipes_app: PipesApp
) -> None:
    base = jp_base_url.rstrip("/") + API
    token = jp_serverapp.identity_provider.token
    login = await http_server_client.fetch(f"{base}/settings?token={token}")
    cookies = [c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie")]
    login_cookie = next(c for c in cookies if c.startswith("username-"))
    as_browser = await http_server_client.fetch(f"{base}/repos", headers={"Cookie": login_cookie})
    assert as_browser.code == 200  # the cookie alone authenticates reads
    with pytest.raises(HTTPClientError) as refused:
        await http_server_client.fetch(
            f"{base}/repos", method="POST", body='{"name": "x"}', headers={"Cookie": login_cookie}
        )
    assert refused.value.code == 403
    assert pipes_app.client.list_repo() == []
    with pytest.raises(HTTPClientError) as upload_refused:  # a streamed body: checked before it
        await http_server_client.fetch(
            f"{base}/repos/x/branches/master/files?path=/f",
            method="PUT",
            body=b"bytes",
            headers={"Cookie": login_cookie},
        )
    assert upload_refused.value.code == 403
    ok = await http_server_client.fetch(
        f"{base}/repos",
        method="POST",
        body='{"name": "x"}',
        headers={"Cookie": f"{login_cookie}; _xsrf=abc123", "X-XSRFToken": "abc123"},
    )
    assert ok.code == 201 and [r.name for r in pipes_app.client.list_repo()] == ["x"]


async def test_openapi_paths_equal_the_route_table(api: Fetch) -> None:
    served = await get_json(api, "openapi.json")
    assert served == openapi_document()
    documented = {
        path: {verb for verb in item if verb in METHODS} for path, item in served["paths"].items()
    }
    assert documented == normalised_routes()
    for path, item in served["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        declared = {p["$ref"].rsplit("/", 1)[-1] for p in item.get("parameters", [])}
        assert names == declared, path


def test_openapi_document_is_valid() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(openapi_document())


def installed_config() -> Path:
    """Where ``pip install`` puts the shared-data file that enables the extension."""
    data = Path(sysconfig.get_path("data"))
    return data / "etc/jupyter/jupyter_server_config.d/jupyter_pipes.json"


def test_jupyter_server_extension_list_shows_it_enabled_and_ok(tmp_path: Path) -> None:
    shipped = REPO_ROOT / "jupyter-config/server-config/jupyter_pipes.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_")}
    env["HOME"] = str(tmp_path)
    # `jupyter server` runs the `jupyter-server` script found first on PATH: this Python's
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    if installed_config().is_file():  # pip install (also -e) puts it in the environment
        assert json.loads(installed_config().read_text()) == json.loads(shipped.read_text())
    else:  # a source checkout on sys.path only: the same file through JUPYTER_CONFIG_PATH
        (tmp_path / "jupyter_server_config.d").mkdir()
        shutil.copy(shipped, tmp_path / "jupyter_server_config.d")
        env["JUPYTER_CONFIG_PATH"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert re.search(r"jupyter_pipes\s+enabled", out), out
    version = re.escape(jupyter_pipes.__version__)
    assert re.search(rf"jupyter_pipes\s+{version}\s+OK", out), out


@pytest.mark.parametrize("pipes_config", [{"run_controller": True}])
async def test_stop_extension_stops_the_background_work(pipes_app: PipesApp) -> None:
    assert pipes_app.controller is not None and pipes_app.controller.is_alive()
    assert pipes_app.poller is not None
    await pipes_app.stop_extension()
    assert not pipes_app.controller.is_alive()
    assert pipes_app.events.closed  # no more live events
    await pipes_app.stop_extension()  # twice is fine (the server's cleanup calls it again)
