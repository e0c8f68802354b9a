"""Test certificates made with the openssl command-line tool: a CA and
ECDSA P-256 leaf certificates signed by it, fresh for every case."""

import os
import subprocess


class PkiError(RuntimeError):
    """openssl failed."""


def _openssl(args, cwd):
    """Run one openssl command in cwd; raise PkiError with its output."""
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PkiError(f"openssl {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def _ec_key(path, cwd):
    """A new P-256 private key at path, readable by the owner only."""
    _openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-out", path], cwd)
    os.chmod(os.path.join(cwd, path), 0o600)


class Ca:
    """A certificate authority in a folder: ca.key, ca.crt."""

    def __init__(self, folder, name):
        self.folder = folder
        self.name = name
        os.makedirs(folder, exist_ok=True)
        self.key = os.path.join(folder, "ca.key")
        self.cert = os.path.join(folder, "ca.crt")
        _ec_key("ca.key", folder)
        _openssl(["req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "2",
                  "-subj", f"/O=callcentre tests/CN={name}",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                  "-out", "ca.crt"], folder)
        self._serial = 1

    def issue(self, stem, dns=("localhost",), ips=("127.0.0.1",)):
        """A server certificate for the given names: returns (cert, key)
        paths as stem.crt and stem.key in the CA's folder."""
        sans = [f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips]
        cn = dns[0] if dns else ips[0]
        ext = os.path.join(self.folder, f"{stem}.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    f"subjectAltName={','.join(sans)}\n")
        _ec_key(f"{stem}.key", self.folder)
        _openssl(["req", "-new", "-key", f"{stem}.key", "-subj", f"/CN={cn}",
                  "-out", f"{stem}.csr"], self.folder)
        self._serial += 1
        _openssl(["x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                  "-set_serial", str(self._serial), "-days", "2", "-sha256",
                  "-extfile", f"{stem}.ext", "-out", f"{stem}.crt"], self.folder)
        return os.path.join(self.folder, f"{stem}.crt"), os.path.join(self.folder, f"{stem}.key")

    def verify(self, cert):
        """Does openssl verify cert against this CA (for the harness's own check)."""
        proc = subprocess.run(["openssl", "verify", "-CAfile", self.cert, cert],
                              capture_output=True, text=True)
        return proc.returncode == 0 and ": OK" in proc.stdout
