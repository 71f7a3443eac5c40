"""lv-web against a gateway that enforces API keys (issue #19, access; docs/SECURITY.md): every
service started with a key file of keys made by `lvctl admin create-key`, the gateway calling the
backends with its own analyst key, the simulator with a registrar+ingest+assessor key. An analyst
key signs in and its pages render with the gateway's numbers; a wrong key, a key of another role
and a revoked key are refused, and no session is made for them."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import BIN_DIR, Proc
from test_web import Client, Elements, check_activity_page, gateway_json, lvctl  # noqa: F401

ACTIVITY = "keys-hf"


def create_key(tmp, role, name):
    out = lvctl("admin", "create-key", "--role", role, "--name", name, "--credential-out", str(tmp / f"{name}.key")).stdout
    return re.search(r"^key-file line: (.*)$", out, re.M).group(1), (tmp / f"{name}.key").read_text().strip()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web-keys")
    lines, keys = {}, {}
    for name, role in (("gateway", "analyst"), ("analyst", "analyst"), ("simulator", "registrar,ingest,assessor"),
                       ("registrar", "registrar"), ("leaver", "analyst")):
        lines[name], keys[name] = create_key(tmp, role, f"web-{name}")
    keyfile = tmp / "keys"
    keyfile.write_text("".join(line + "\n" for line in lines.values()))
    os.chmod(keyfile, 0o600)
    procs = {}
    try:
        for name in ("lv-registration", "lv-engagement", "lv-assessment"):
            procs[name] = Proc(name, ["--data-dir", str(tmp / name), "--key-file", str(keyfile)], tmp)
        backends = ["--registration-addr", procs["lv-registration"].address, "--engagement-addr", procs["lv-engagement"].address,
                    "--assessment-addr", procs["lv-assessment"].address]
        procs["lv-gateway"] = Proc("lv-gateway", backends + ["--data-dir", str(tmp / "gw"), "--key-file", str(keyfile),
                                                             "--backend-credential-file", str(tmp / "web-gateway.key")], tmp)
        procs["lv-web"] = Proc("lv-web", ["--gateway-addr", procs["lv-gateway"].address, "--data-dir", str(tmp / "web")], tmp)
        lvctl("simulate", *backends, "--credential-file", str(tmp / "web-simulator.key"), "--activity", ACTIVITY,
              "--participants", "40", "--comparison", "10", "--seed", "5")
        yield procs, tmp, keys, lines, keyfile
    finally:
        for p in reversed(list(procs.values())):
            p.stop()


def refused(client, key):
    """Sign-in with KEY: the form again with the gateway's refusal, and no session cookie."""
    status, _, page, _ = client.login(key=key)
    assert status == 401, status
    assert "the gateway refused this key" in page
    assert "lv_session" not in client.cookies
    return page


def test_the_gateway_enforces_keys(keyed):
    procs, tmp, keys, _, _ = keyed
    # Without a key the gateway refuses the view: the test is not running against an open gateway.
    r = lvctl("report", "activity", ACTIVITY, "--addr", procs["lv-gateway"].address, check=False)
    assert r.returncode != 0 and "UNAUTHENTICATED" in r.stderr.upper(), r.stderr


def test_analyst_key_signs_in_and_pages_render(keyed):
    procs, tmp, keys, _, _ = keyed
    web = Client(procs["lv-web"].address)
    status, headers, _, _ = web.login(key=keys["analyst"])
    assert status == 303 and headers["Location"] == "/activities"
    status, _, page, _ = web.request("GET", "/activities")
    assert status == 200
    assert [r["data-activity"] for r in Elements(page).find("tr", within="activities") if "data-activity" in r] == [ACTIVITY]
    status, _, page, _ = web.request("GET", f"/activities/{ACTIVITY}")
    assert status == 200
    view = gateway_json(procs, "activity", ACTIVITY, "--credential-file", str(tmp / "web-analyst.key"))
    check_activity_page(page, view)
    status, _, page, _ = web.request("GET", f"/activities/{ACTIVITY}/report")
    assert status == 200 and "Validation gap" in page
    status, _, body, _ = web.request("GET", f"/activities/{ACTIVITY}/gap.csv")
    assert status == 200 and body.startswith("verdict,physicians")


def test_wrong_and_other_role_keys_are_refused(keyed):
    procs, tmp, keys, _, _ = keyed
    web = procs["lv-web"].address
    # A key the gateway never issued (well-formed), garbage, and a registrar key (no analyst scope).
    refused(Client(web), "lvk_000000000000_" + "0" * 64)
    refused(Client(web), "not-a-key")
    page = refused(Client(web), keys["registrar"])
    assert "PERMISSION_DENIED" in page
    # Pages stay closed to the refused client.
    c = Client(web)
    refused(c, keys["registrar"])
    assert c.request("GET", f"/activities/{ACTIVITY}")[0] == 303


def test_revoked_key_ends_the_session(keyed):
    procs, tmp, keys, lines, keyfile = keyed
    web = Client(procs["lv-web"].address)
    assert web.login(key=keys["leaver"])[0] == 303
    assert web.request("GET", "/activities")[0] == 200
    # Revocation (docs/SECURITY.md): delete the line, SIGHUP the gateway.
    keyfile.write_text("".join(line + "\n" for name, line in lines.items() if name != "leaver"))
    procs["lv-gateway"].process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    status = 200
    while time.monotonic() < deadline and status == 200:
        status = web.request("GET", "/activities")[0]
        time.sleep(0.2)
    assert status == 303, "a key the gateway stops accepting ends the session (back to sign-in)"
    refused(Client(procs["lv-web"].address), keys["leaver"])
    # The other analyst's session is unaffected.
    other = Client(procs["lv-web"].address)
    assert other.login(key=keys["analyst"])[0] == 303 and other.request("GET", "/activities")[0] == 200
