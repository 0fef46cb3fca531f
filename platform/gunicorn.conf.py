"""Gunicorn settings for a Firstline web node: `gunicorn -c platform/gunicorn.conf.py wsgi:app`.

Every value can be overridden from the environment (PORT, WEB_CONCURRENCY, ...) so one file
serves the Procfile, systemd and containers.
"""

import multiprocessing
import os


def _int(name, default):
    return int(os.environ.get(name) or default)


def _bool(name, default):
    value = os.environ.get(name)
    return default if not value else value.strip().lower() in {"1", "true", "yes", "on"}


# Behind a load balancer: listen on every interface, on the port the platform hands out.
bind = f"0.0.0.0:{_int('PORT', 8000)}"

# Each worker listens on its own SO_REUSEPORT socket and the kernel spreads new connections over
# them. With one shared socket the first worker to wake accepts a whole burst, and long-lived
# keep-alive connections (nginx's upstream pool, API clients) stay piled on it: one process,
# one core because of the GIL, while the others idle (bench/create_api.py saw 16 connections
# to one worker and 0 to the other, at half the throughput). Caveats: a second gunicorn on the
# same port binds too instead of failing, and connections still in a stopping worker's accept
# queue are reset, which is one more reason to replace workers rarely (max_requests below).
# GUNICORN_REUSE_PORT=0 goes back to one socket shared by all workers.
reuse_port = _bool("GUNICORN_REUSE_PORT", True)

# Processes: the classic 2 x cores + 1, capped because every worker keeps its own SQLAlchemy
# pool (up to 15 connections); nodes x workers x pool must stay under PostgreSQL's (or
# PgBouncer's) limit. Scale out with more nodes, not with more workers per node.
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9))

# Threads: a request that waits on PostgreSQL or Redis does not block the whole worker, and the
# worker's heartbeat still runs; how many of them work at once is WEB_CONCURRENT_REQUESTS
# (core/admission.py). The live-chat streams, which hold a connection for minutes, have a server
# of their own (gunicorn.streams.conf.py); served from here, each holds a thread while open
# (platform/SCALING.md).
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 8)

# A worker that stops answering its heartbeat for this long is killed and replaced.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (deploys), in-flight requests get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Longer than the proxy's idle timeout for upstream connections (nginx: 60 s), so the proxy,
# not gunicorn, closes idle keep-alive connections; otherwise requests race a closing socket
# and get a 502.
keepalive = _int("GUNICORN_KEEPALIVE", 75)

# Replace each worker after about this many requests: bounds slow memory growth (caches,
# fragmentation). The jitter keeps the workers from all restarting at the same moment. A new
# worker imports and builds the app again (about 1.5 s of CPU), so at hundreds of requests per
# second 1000 meant a restart every few seconds; RSS stays flat at about 105 MB over 5,000
# ticket creations per worker (bench/create_api.py), so restarting rarely costs no memory.
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 2000)

# Trust X-Forwarded-Proto only from the proxy. The app's client-IP handling (rate limits,
# audit) is ProxyFix, set with TRUSTED_PROXIES in the environment.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Worker heartbeat files on tmpfs: a slow or full disk must not look like a hung worker.
if os.path.isdir("/dev/shm"):  # noqa: S108
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# Logs to stdout/stderr for journald or the platform. %(M)s is the request time in ms.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s "%({x-forwarded-for}i)s" %(t)s "%(r)s" %(s)s %(b)s "%(a)s" %(M)sms'

# gunicorn >= 25.1 opens a control socket under $HOME; signals (systemd, the platform) manage
# the server here, and the service user has no writable home. Older versions ignore the name.
control_socket_disable = True


def post_worker_init(worker):
    """Move what the app loaded at start into the permanent generation: a full collection then
    skips it, which took the reports' p95 from about 400 to 310 ms (bench/reports.py)."""
    import gc

    gc.freeze()
