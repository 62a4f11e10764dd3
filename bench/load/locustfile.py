"""A September morning on ÉduConnect, for locust: activations, sign-ins, « Mes services ».

    LOAD_BASE_URLS=http://127.0.0.1:8001,http://127.0.0.1:8002 \\
    LOAD_RECORDS=3000 LOAD_ACCOUNTS=200 \\
        locust -f bench/load/locustfile.py --headless -u 50 -r 10 -t 60s

(bench/load/run_load.py starts the stack, loads the data and runs the steps.) Every user goes
through one of the web nodes named in LOAD_BASE_URLS (round robin: the proxy's work; set it to
the proxy's one address when there is one) and comes from an address of its own, given in
X-Forwarded-For as the proxy would (TRUSTED_PROXY_COUNT=1 on the nodes): per-IP limits count
families, not the load generator.

The mix, per the first week of September (families activating the letter the school gave,
then signing in to reach the ENT and the school life services):
- Family (weight 8): signs in once (guardian account, password), then reads « Mes services »
  every few seconds (their children's services);
- Activation (weight 3): step 1 of the SMS activation for a guardian record of the roster
  (name, first name, mobile): writes the code's SMS to the outbox;
- Abuser (weight 1): one address guessing a password every 0.5 s: the sign-in limit must
  answer 429 with a French page; counted as « limited », not as a failure.

A 5xx or a refused connection is a failure; a 429 whose page is not French is a failure.
"""

import itertools
import os
import random
import re

from locust import HttpUser, between, constant, task

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
BASES = [b.strip() for b in os.environ.get("LOAD_BASE_URLS", "http://127.0.0.1:8000")
         .split(",") if b.strip()]
RECORDS = int(os.environ.get("LOAD_RECORDS", "3000"))
ACCOUNTS = int(os.environ.get("LOAD_ACCOUNTS", "200"))
PASSWORD = os.environ.get("LOAD_PASSWORD", "Cartable-Vert-2024!")
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
              "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
              "N'Diaye", "Le Goff", "Saint-Éloi", "Payet", "Hoarau", "Grondin", "Bensaïd",
              "Jean-Baptiste", "Da Silva", "Nguyễn", "Œuvrard", "D'Almeida", "Van der Berg"]
FIRST_NAMES = ["Hélène", "Jean-Éric", "Maëlle", "Noël", "Zoé", "Chloé", "François", "Anaïs",
               "Loïc", "Léa", "Inès", "Marie-Josée", "Jérôme", "Nadia", "Karim", "Sophie",
               "Camille", "Stéphane", "Fatima", "Laëtitia", "Sébastien"]
FRENCH_429 = ("Trop de", "réessayer", "Réessayez", "patienter", "attendre")
_node = itertools.count()
_account = itertools.count(1)


def national_form(i: int) -> str:
    digits = f"{i:08d}"
    return "06 " + " ".join(digits[k:k + 2] for k in range(0, 8, 2))


class EduConnectUser(HttpUser):
    abstract = True
    host = BASES[0]

    def on_start(self):
        self.base = BASES[next(_node) % len(BASES)]
        self.ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"

    def call(self, method, path, name, *, expect=(200, 302), **kw):
        headers = {"X-Forwarded-For": self.ip, "Referer": self.base + path}
        with self.client.request(method, self.base + path, name=name, headers=headers,
                                 allow_redirects=False, catch_response=True, **kw) as response:
            if response.status_code == 429:
                if any(word in response.text for word in FRENCH_429) and (
                        response.headers.get("Retry-After")):
                    response.success()
                    self.environment.events.request.fire(
                        request_type="LIMIT", name=f"{name} (429, French page)",
                        response_time=response.elapsed.total_seconds() * 1000,
                        response_length=len(response.content), exception=None,
                        context={})
                else:
                    response.failure("429 without a French page or Retry-After")
            elif response.status_code >= 500 or response.status_code == 0:
                response.failure(f"server error {response.status_code}")
            elif response.status_code not in expect:
                response.failure(f"unexpected {response.status_code}")
            else:
                response.success()
            return response

    def token(self, path, name):
        page = self.call("GET", path, name)
        found = CSRF_INPUT.search(page.text or "") if page is not None else None
        return found.group(1) if found else ""


class Family(EduConnectUser):
    weight = 8
    wait_time = between(2, 6)

    def on_start(self):
        super().on_start()
        self.number = (next(_account) - 1) % ACCOUNTS + 1
        self.signed_in = False

    def sign_in(self):
        path = "/connexion/representant-legal/"
        token = self.token(path, "sign-in: form")
        answer = self.call("POST", path, "sign-in: password", data={
            "identifier": f"p.bench{self.number}", "password": PASSWORD,
            "csrfmiddlewaretoken": token})
        self.signed_in = answer.status_code == 302

    @task
    def my_services(self):
        if not self.signed_in:
            self.sign_in()
            return
        answer = self.call("GET", "/services/", "« Mes services »")
        if answer.status_code == 302:  # session gone: sign in again
            self.signed_in = False


class Activation(EduConnectUser):
    weight = 3
    wait_time = between(3, 8)

    @task
    def step_one(self):
        i = random.randint(1, RECORDS)
        token = self.token("/activation/", "activation: form")
        self.call("POST", "/activation/", "activation: step 1 (name, mobile)", data={
            "last_name": LAST_NAMES[i % len(LAST_NAMES)].upper(),
            "first_name": FIRST_NAMES[i % len(FIRST_NAMES)],
            "phone": national_form(i), "csrfmiddlewaretoken": token})


class Abuser(EduConnectUser):
    """Password guessing from one address on one identifier (that no family uses): the
    per-identifier-and-address limit (LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP) must answer 429
    with a French page and Retry-After. (Activation step 1 for unknown people is limited
    silently, without a 429, so as not to tell a match from none: no use here.)"""

    weight = 1
    wait_time = constant(0.5)

    def on_start(self):
        super().on_start()
        self.ip = "192.0.2.66"  # one address for every abuser: the limit is reached

    @task
    def guess(self):
        path = "/connexion/representant-legal/"
        token = self.token(path, "abuser: form")
        self.call("POST", path, "abuser: wrong password", expect=(200,), data={
            "identifier": "p.intrus", "password": f"Devine-{random.randint(0, 10**6)}!",
            "csrfmiddlewaretoken": token})
