"""Locust scenario for bench/my_learning.py: learners sign in, then load "My learning".

Each simulated user signs in once as a random generated learner (all share one password), then
loads `/` (My learning) again and again with a short think time. Statistics are reset once every
user has signed in: a sign-in hashes a password (about a second of CPU on a small machine), and
16 of them at once would otherwise make the first page loads queue behind them. The figures are
those of the steady state.

Environment: BENCH_USERS_FILE (one username per line), BENCH_PASSWORD, BENCH_WAIT ("min,max"
seconds between page loads, default "0.5,1.5").
"""

from __future__ import annotations

import os
import random
import re

from locust import HttpUser, between, task

SIGNED_IN: set[int] = set()

with open(os.environ.get("BENCH_USERS_FILE", "var/bench/learners.txt"), encoding="utf-8") as fh:
    USERNAMES = [line.strip() for line in fh if line.strip()]
PASSWORD = os.environ.get("BENCH_PASSWORD", "uptake-demo")
WAIT_MIN, WAIT_MAX = (float(x) for x in os.environ.get("BENCH_WAIT", "0.5,1.5").split(","))
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Learner(HttpUser):
    wait_time = between(WAIT_MIN, WAIT_MAX)

    def on_start(self) -> None:
        username = random.choice(USERNAMES)
        page = self.client.get("/login/", name="login form")
        match = CSRF_INPUT.search(page.text)
        token = match.group(1) if match else self.client.cookies.get("csrftoken", "")
        with self.client.post(
            "/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.host}/login/"},
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login as {username} answered {response.status_code}")
        SIGNED_IN.add(id(self))
        runner = self.environment.runner
        if runner is not None and len(SIGNED_IN) == runner.target_user_count:
            self.environment.stats.reset_all()
            print(f"all {len(SIGNED_IN)} users signed in: statistics reset", flush=True)

    @task
    def my_learning(self) -> None:
        with self.client.get("/", name="My learning", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"My learning answered {response.status_code}")
            elif "/login/" in response.url:
                response.failure("redirected to the login page")
