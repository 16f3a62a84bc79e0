"""Unit check (no broker, no registry): the schema registry's settings are
checked at start-up by every program. A schema.registry.url that is not
http(s)://host, a certificate without its key, an unreadable CA file or user
info without ':' exits 2 with one stderr line naming the key (and the value)
before any I/O. (Good values, URL lists among them: tests/unit/test_registry.c.)
"""
from invtest import bin, check, finish, run

PROGRAMS = ["inv-sale", "inv-return", "inv-restock", "invctl", "inv-stock", "inv-loadgen"]

BAD = [
    (["-X", "schema.registry.url=ftp://reg:21"], "schema.registry.url", "ftp://reg:21"),
    (["-X", "schema.registry.url=localhost:8081"], "schema.registry.url", "localhost:8081"),
    (["-X", "schema.registry.url=http://ok:8081,https://"], "schema.registry.url", "https://"),
    (["-X", "schema.registry.ssl.certificate.location=/etc/hostname"], "schema.registry.ssl.key.location", ""),
    (["-X", "schema.registry.ssl.ca.location=/nonexistent/ca.pem"], "schema.registry.ssl.ca.location",
     "/nonexistent/ca.pem"),
    (["-X", "schema.registry.basic.auth.user.info=nocolon"], "schema.registry.basic.auth.user.info", ""),
    (["-X", "auto.register.schemas=yes"], "auto.register.schemas", "yes"),
]


def main():
    for prog in PROGRAMS:
        for args, key, value in BAD:
            r = run([bin(prog)] + args, env={}, timeout=10)
            lines = r.stderr.strip().splitlines()
            check(r.returncode == 2, "%s %s: exit %s, expected 2" % (prog, args, r.returncode))
            check(len(lines) == 1 and key in lines[0] and value in lines[0],
                  "%s %s: stderr should be one line naming %s and %r, got %r" % (prog, args, key, value, lines))
    finish("registry settings: checked at start-up by every program")


if __name__ == "__main__":
    main()
