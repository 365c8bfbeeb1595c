#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Drive headless Chromium through the pages of `mmdx audit serve` as a reviewer would.

    browser.py BASE_URL OUT_DIR      (role, password and patient ID in $REVIEW_ROLE,
                                      $REVIEW_PASSWORD, $REVIEW_MRN: never on a command line)

Chromium is driven over its DevTools protocol on a pipe (--remote-debugging-pipe:
messages are JSON texts ended by a NUL byte on file descriptors 3 and 4), so no
extra package is needed. For each page it writes OUT_DIR/<name>.html (the DOM
after loading), OUT_DIR/<name>.png (a full-page screenshot), and prints one JSON
object: {"pages": [{"name", "url", "scripts", "title"}]}. The checks are the
caller's (tests/web/test_audit_serve.c). Exits 1 on any failure.
"""
import base64
import json
import os
import signal
import subprocess
import sys


class Browser:
    def __init__(self, profile):
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # Keep the ends away from 3 and 4 before moving them there in the child.
        keep_r, keep_w = os.dup(to_chrome_r), os.dup(from_chrome_w)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def child():
            os.dup2(keep_r, 3, inheritable=True)
            os.dup2(keep_w, 4, inheritable=True)

        self.proc = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--ignore-certificate-errors",
             "--remote-debugging-pipe", "--user-data-dir=" + profile, "--no-first-run",
             "--disable-gpu", "--disable-extensions", "--window-size=1280,900", "about:blank"],
            preexec_fn=child, close_fds=False, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(keep_r)
        os.close(keep_w)
        self.out = os.fdopen(to_chrome_w, "wb")
        self.inp = from_chrome_r
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None
        targets = self.call("Target.getTargets")["targetInfos"]
        page = [t for t in targets if t["type"] == "page"][0]["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": page, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def _read(self):
        while b"\0" not in self.buf:
            chunk = os.read(self.inp, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session and not method.startswith(("Target.", "Browser.")):
            msg["sessionId"] = self.session
        self.out.write(json.dumps(msg).encode() + b"\0")
        self.out.flush()
        while True:
            m = self._read()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m["result"]
            if "method" in m:
                self.events.append(m["method"])

    def wait_load(self):
        while "Page.loadEventFired" not in self.events:
            m = self._read()
            if "method" in m:
                self.events.append(m["method"])
        self.events.clear()

    def eval(self, js):
        r = self.call("Runtime.evaluate", {"expression": js, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("script failed: %s: %s" % (js, r["exceptionDetails"]))
        return r["result"].get("value")

    def go(self, url):
        self.events.clear()
        self.call("Page.navigate", {"url": url})
        self.wait_load()

    def act(self, js):
        """Run js (which submits a form or follows a link) and wait for the next page."""
        self.events.clear()
        self.eval(js)
        self.wait_load()

    def close(self):
        try:
            self.call("Browser.close")
        except RuntimeError:
            pass
        self.proc.wait(timeout=20)


def fill_and_submit(form_action, values):
    sets = "".join("f.elements[%s].value = %s;" % (json.dumps(k), json.dumps(v)) for k, v in values.items())
    return "(() => { const f = document.querySelector('form[action=%s]'); %s f.requestSubmit(); })()" % (
        json.dumps(form_action), sets)


def follow(selector):
    return "document.querySelector(%s).click()" % json.dumps(selector)


def main():
    base, out_dir = sys.argv[1].rstrip("/"), sys.argv[2]
    role, password, mrn = os.environ["REVIEW_ROLE"], os.environ["REVIEW_PASSWORD"], os.environ["REVIEW_MRN"]
    signal.alarm(90)
    b = Browser(os.path.join(out_dir, "profile"))
    pages = []

    def keep(name):
        html = b.eval("document.documentElement.outerHTML")
        with open(os.path.join(out_dir, name + ".html"), "w", encoding="utf-8") as f:
            f.write(html)
        shot = b.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        with open(os.path.join(out_dir, name + ".png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        pages.append({"name": name, "url": b.eval("location.href"), "title": b.eval("document.title"),
                      "scripts": b.eval("document.scripts.length")})

    try:
        b.go(base + "/login")
        keep("login")
        b.act(fill_and_submit("/login", {"role": role, "password": password + "-wrong"}))
        keep("login-refused")
        b.act(fill_and_submit("/login", {"role": role, "password": password}))
        keep("search")
        b.act(fill_and_submit("/patient", {"mrn": mrn}))
        keep("timeline")
        b.act(follow("main a[href^='/run/']"))
        keep("run")
        b.act(follow("main a[href^='/proof?seq=']"))
        keep("proof")
        b.act(follow("nav a[href='/integrity']"))
        keep("integrity")
        b.act(follow("nav a[href='/export']"))
        keep("export")
        b.act("document.querySelector('form[action=\"/logout\"] button').click()")
        keep("logged-out")
    finally:
        b.close()
    print(json.dumps({"pages": pages}))


if __name__ == "__main__":
    main()
