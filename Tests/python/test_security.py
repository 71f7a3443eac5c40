"""The Python client with an API key and mutual TLS against lv-registration (docs/SECURITY.md).
Keys come from `lvctl admin create-key`, certificates from openssl in a temporary directory."""
import os
import re
import subprocess

import pytest

from conftest import BIN_DIR, RunningServer
from lvrpc import Client, RPCError, StatusCode, message_class

LIST = "lv.registration.v1.Registration/ListActivities"


def openssl(cwd, *args):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl(d, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=py-test-ca")
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for leaf in ("server", "client"):
        openssl(d, "req", *ec, "-keyout", f"{leaf}.key", "-out", f"{leaf}.csr", "-subj", f"/CN=py-test-{leaf}")
        openssl(d, "x509", "-req", "-in", f"{leaf}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{leaf}.crt", "-days", "2", "-extfile", f"{leaf}.ext")


def create_key(d, role, name):
    out = subprocess.run([str(BIN_DIR / "lvctl"), "admin", "create-key", "--role", role, "--name", name,
                          "--credential-out", str(d / f"{name}.key")], check=True, capture_output=True, text=True).stdout
    line = re.search(r"^key-file line: (.*)$", out, re.M).group(1)
    assert "lvk_" not in line, "the key file line must not hold the key"
    return line


def test_credential_and_mutual_tls_from_python(tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    make_certs(certs)
    keyfile = tmp_path / "keys"
    keyfile.write_text(create_key(tmp_path, "registrar", "py-registrar") + "\n" + create_key(tmp_path, "ingest", "py-ingest") + "\n")
    os.chmod(keyfile, 0o600)
    data = tmp_path / "data"
    data.mkdir()
    s = RunningServer("lv-registration", data, extra=("--key-file", str(keyfile), "--tls-cert", str(certs / "server.crt"),
                                                       "--tls-key", str(certs / "server.key"), "--tls-client-ca", str(certs / "ca.crt")))
    try:
        tls = dict(tls_ca=str(certs / "ca.crt"), tls_cert=str(certs / "client.crt"), tls_key=str(certs / "client.key"))
        Request = message_class("lv.registration.v1.ListActivitiesRequest")
        with Client(s.host, s.port, credential_file=str(tmp_path / "py-registrar.key"), **tls) as c:
            c.call(LIST, Request(), "lv.registration.v1.ListActivitiesResponse")
        with Client(s.host, s.port, credential_file=str(tmp_path / "py-ingest.key"), **tls) as c:
            with pytest.raises(RPCError) as denied:
                c.call(LIST, Request(), "lv.registration.v1.ListActivitiesResponse")
            assert denied.value.code == StatusCode.PERMISSION_DENIED
            assert "registrar.read" in denied.value.message
        with Client(s.host, s.port, **tls) as c:
            with pytest.raises(RPCError) as anonymous:
                c.call(LIST, Request(), "lv.registration.v1.ListActivitiesResponse")
            assert anonymous.value.code == StatusCode.UNAUTHENTICATED
        # Without a client certificate the handshake fails.
        with pytest.raises(Exception):
            with Client(s.host, s.port, credential_file=str(tmp_path / "py-registrar.key"), tls_ca=str(certs / "ca.crt"), timeout=5) as c:
                c.call(LIST, Request(), "lv.registration.v1.ListActivitiesResponse")
    finally:
        assert s.stop() == 0
