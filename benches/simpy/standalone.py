#!/usr/bin/env python3
"""The standalone cluster of ecxsim written in SimPy: the reference of the speed comparison.

It reads the same scenario file as `ecxsim run` and simulates the same model: servers that
fail and are repaired by a limited number of crews (first failed, first repaired), a failover
group that goes down when its server fails, is detected after the heartbeat timeout and
starts on the highest-priority server that is up, a shared disk whose failure takes the
service down until it is repaired and the group started again, and the service's downtime
by cause over the horizon (the rules of docs/scenario.md, "What the simulator does with a
cluster").

It accepts only what that model needs: exponential times, no server sync wait, no failback,
no interconnect, witness or warmup, one service on one cluster. Anything else is refused, so
that a timing is never taken on a different model.

    python3 benches/simpy/standalone.py scenarios/exponential.toml --replications 1000 \\
        --horizon 10y --out /tmp/simpy

prints the availability with its 95% confidence interval and writes replications.csv (one
row per replication, as `ecxsim run` does), so both programs do the same work end to end.
"""

import argparse
import math
import os
import random
import sys
import tomllib

import simpy

UNITS = {
    "us": 1e-6 / 3600,
    "ms": 1e-3 / 3600,
    "s": 1 / 3600,
    "m": 1 / 60,
    "h": 1.0,
    "d": 24.0,
    "w": 168.0,
    "y": 8760.0,
}

CAUSES = ("server_failover", "all_servers_down", "shared_disk")
SERVER_FAILOVER, ALL_SERVERS_DOWN, SHARED_DISK = range(3)

# Group states.
ONLINE, DETECTING, STARTING, WAITING, DISK_WAIT = range(5)


def hours(text):
    """A scenario duration ("30s", "1000h", "10y") in hours."""
    text = text.strip()
    split = next(i for i, c in enumerate(text) if c.isalpha())
    return float(text[:split]) * UNITS[text[split:]]


def exponential_mean(spec, what):
    """Mean in hours of an exponential distribution of the scenario; anything else refused."""
    if not isinstance(spec, dict) or spec.get("dist") != "exponential":
        sys.exit(f"{what}: the SimPy reference model takes exponential times only")
    return hours(spec["mean"])


class Model:
    """The parameters of the one cluster of the scenario, in hours."""

    def __init__(self, scenario, horizon):
        sim = scenario["simulation"]
        clusters = scenario.get("cluster", [])
        if len(clusters) != 1 or len(scenario.get("service", [])) != 1:
            sys.exit("the SimPy reference model takes one cluster and one service")
        for key in ("master", "vm", "witness", "fault_domain", "inject"):
            if key in scenario:
                sys.exit(f"the SimPy reference model has no `{key}`")
        if hours(sim.get("warmup", "0h")) != 0:
            sys.exit("the SimPy reference model has no warmup")
        c = clusters[0]
        if c.get("failback", False) or "interconnect" in c:
            sys.exit("the SimPy reference model has no failback and no interconnect")
        if hours(c.get("server_sync_wait", "0s")) != 0:
            sys.exit("the SimPy reference model has no server sync wait")
        self.horizon = hours(horizon or sim["horizon"])
        self.servers = len(c["servers"])
        self.ttf = exponential_mean(c["server_ttf"], "server_ttf")
        self.ttr = exponential_mean(c["server_ttr"], "server_ttr")
        self.crews = c.get("repair_crews", self.servers)
        self.detection = exponential_mean(c["heartbeat_timeout"], "heartbeat_timeout")
        self.start = exponential_mean(c["group_start"], "group_start")
        disk = c.get("shared_disk")
        self.disk = None
        if disk is not None:
            self.disk = (
                exponential_mean(disk["ttf"], "shared_disk.ttf"),
                exponential_mean(disk["ttr"], "shared_disk.ttr"),
            )


class Service:
    """Up/down accounting of the service, downtime by cause, outages."""

    def __init__(self, env):
        self.env = env
        self.cause = None
        self.since = 0.0
        self.down_by_cause = [0.0] * len(CAUSES)
        self.outages = 0

    def down(self, cause):
        if self.cause == cause:
            return
        now = self.env.now
        if self.cause is None:
            self.outages += 1
        else:
            self.down_by_cause[self.cause] += now - self.since
        self.cause = cause
        self.since = now

    def up(self):
        if self.cause is None:
            return
        self.down_by_cause[self.cause] += self.env.now - self.since
        self.cause = None

    def finish(self, horizon):
        if self.cause is not None:
            self.down_by_cause[self.cause] += horizon - self.since


class Cluster:
    """Servers, repair crews, the shared disk and the failover group, as SimPy processes."""

    def __init__(self, env, model, rng):
        self.env = env
        self.model = model
        self.rng = rng
        self.service = Service(env)
        self.server_up = [True] * model.servers
        self.disk_up = True
        self.group = ONLINE
        self.active = 0
        # Generation of the group's current step (detection or start): a step whose
        # generation is no longer current was cancelled.
        self.step = 0
        self.crews = simpy.Resource(env, capacity=model.crews)
        for server in range(model.servers):
            env.process(self.server_life(server))
        if model.disk is not None:
            env.process(self.disk_life())

    def draw(self, mean):
        return self.rng.expovariate(1.0 / mean)

    def server_life(self, server):
        while True:
            yield self.env.timeout(self.draw(self.model.ttf))
            self.server_fails(server)
            with self.crews.request() as crew:
                yield crew
                yield self.env.timeout(self.draw(self.model.ttr))
            self.server_up[server] = True
            if self.group == WAITING:
                self.try_start()

    def disk_life(self):
        ttf, ttr = self.model.disk
        while True:
            yield self.env.timeout(self.draw(ttf))
            self.disk_up = False
            self.cancel_step()
            self.group = DISK_WAIT
            self.service.down(SHARED_DISK)
            yield self.env.timeout(self.draw(ttr))
            self.disk_up = True
            if self.group == DISK_WAIT:
                self.try_start()

    def server_fails(self, server):
        self.server_up[server] = False
        if self.group in (ONLINE, STARTING) and self.active == server:
            self.service.down(SERVER_FAILOVER)
            self.group = DETECTING
            self.arm_step(self.model.detection, self.try_start)

    def try_start(self):
        """Starts the group on the highest-priority server that is up, or waits."""
        if not self.disk_up:
            self.cancel_step()
            self.group = DISK_WAIT
            self.service.down(SHARED_DISK)
        elif True in self.server_up:
            self.group = STARTING
            self.active = self.server_up.index(True)
            self.arm_step(self.model.start, self.online)
        else:
            self.cancel_step()
            self.group = WAITING
            self.service.down(ALL_SERVERS_DOWN)

    def online(self):
        self.group = ONLINE
        self.service.up()

    def arm_step(self, mean, then):
        # A timeout with a callback, not a process per step: cheaper, and a cancelled step
        # is dropped by its generation instead of being interrupted.
        self.step += 1
        generation = self.step
        timeout = self.env.timeout(self.draw(mean))
        timeout.callbacks.append(lambda _: self.step == generation and then())

    def cancel_step(self):
        self.step += 1


def replicate(model, seed, index):
    env = simpy.Environment()
    cluster = Cluster(env, model, random.Random(seed * 1_000_003 + index))
    env.run(until=model.horizon)
    cluster.service.finish(model.horizon)
    return cluster.service


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--replications", type=int, required=True)
    parser.add_argument("--horizon", help="overrides the scenario's horizon, e.g. 10y")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", help="folder for replications.csv")
    args = parser.parse_args()
    with open(args.scenario, "rb") as f:
        model = Model(tomllib.load(f), args.horizon)
    rows = []
    total = 0.0
    total_sq = 0.0
    for index in range(args.replications):
        service = replicate(model, args.seed, index)
        down = sum(service.down_by_cause)
        availability = 1.0 - down / model.horizon
        total += availability
        total_sq += availability * availability
        rows.append(
            f"{index},{availability!r},{down * 60!r},{service.outages},"
            + ",".join(repr(d * 60) for d in service.down_by_cause)
        )
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "replications.csv"), "w") as f:
            header = "replication,availability,downtime_minutes,outages,"
            f.write(header + ",".join(f"{c}_minutes" for c in CAUSES) + "\n")
            f.write("\n".join(rows) + "\n")
    n = args.replications
    mean = total / n
    variance = max(total_sq / n - mean * mean, 0.0) * n / max(n - 1, 1)
    half = 1.96 * math.sqrt(variance / n)
    print(f"replications {n} x {model.horizon:g} h, seed {args.seed}")
    print(f"availability {mean:.7%} [{mean - half:.7%} .. {mean + half:.7%}]")
    minutes = 8760 * 60
    print(
        f"downtime per year {(1 - mean) * minutes:.2f} min "
        f"[{(1 - mean - half) * minutes:.2f} .. {(1 - mean + half) * minutes:.2f}]"
    )


if __name__ == "__main__":
    main()
