"""The app's circuit breaker around Redis (closed -> open -> half-open), shared by the app servers."""
from __future__ import annotations

from sim.model.schema_failures import CircuitBreaker as Config

# what the app logs (source, event, mark), read by incident detection; the fast engine logs the same
OPENED = (("app", "breaker opened", "detected"), ("app", "session traffic to PostgreSQL", "action"))
CLOSED = (("app", "breaker closed: session traffic back to Redis", "recovered"),)


class CircuitBreaker:
    def __init__(self, cfg: Config, control):
        self.cfg, self.control = cfg, control
        self.state = "closed"
        self.consecutive = 0
        self.opened_at = 0.0
        self._trial = False

    def allows(self, now: float) -> bool:
        """True: call Redis. False: take the fallback path."""
        if not self.cfg.enabled or self.state == "closed":
            return True
        if self.state == "open" and now - self.opened_at >= self.cfg.reset_timeout_s:
            self.state = "half_open"
            self._trial = False
        if self.state == "half_open" and not self._trial:
            self._trial = True  # one request tries Redis; the others keep to the fallback
            return True
        return False

    def failure(self, now: float):
        if not self.cfg.enabled:
            return
        self.consecutive += 1
        if self.state == "half_open" or (self.state == "closed" and self.consecutive >= self.cfg.failure_threshold):
            if self.state == "closed":
                for entry in OPENED:
                    self.control.log(*entry)
            self.state, self.opened_at = "open", now

    def success(self):
        self.consecutive = 0
        if self.state == "half_open":
            self.state = "closed"
            for entry in CLOSED:
                self.control.log(*entry)
