"""keepalived's VRRP: the backup load balancer takes the floating IP when the master goes quiet."""
from __future__ import annotations

from sim.model.schema_failures import Vrrp


def vrrp(env, control, lbs, cfg: Vrrp, rng):
    """The master advertises every advert_int. A crashed host stops advertising: the backup takes
    over master_down_interval = 3 x advert_int + skew after the last advert it heard (RFC 3768).
    A hung HAProxy leaves keepalived advertising: its tracking script fails track_fall runs in a
    row, the master then advertises priority 0, and the backup takes over after its skew time.
    No preemption: a repaired balancer comes back as the backup."""
    skew = (256 - cfg.backup_priority) / 256 * cfg.advert_int_s
    master_down = 3 * cfg.advert_int_s + skew
    yield env.timeout(rng.uniform(0, cfg.advert_int_s))  # the adverts' phase
    last_advert = env.now
    while True:
        master = control.vip_holder
        if master.state == "up":
            last_advert = env.now
            yield env.timeout(cfg.advert_int_s)
            continue
        if master.state == "hung":
            first_run = rng.uniform(0, cfg.track_interval_s)
            yield env.timeout(first_run + (cfg.track_fall - 1) * cfg.track_interval_s + skew)
        else:
            yield env.timeout(max(0.0, last_advert + master_down - env.now))
        backups = [lb for lb in lbs if lb is not master and lb.up]
        if master.up or not backups:
            yield env.timeout(cfg.advert_int_s)
            continue
        control.vip_holder = backups[0]
        control.log("keepalived", f"VIP moved to {backups[0].name}", "detected")
        control.log("keepalived", "clients reconnect to the VIP", "action")
        last_advert = env.now
