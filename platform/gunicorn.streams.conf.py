"""Gunicorn settings for a node that serves only the live chat's two stream routes (server-sent
events): `gunicorn -c platform/gunicorn.streams.conf.py wsgi:app`, behind the nginx location that
sends `/chat/<key>/s/<token>/events` and `/agent/chats/events` to the `firstline_streams`
upstream.

Everything is as in gunicorn.conf.py but the worker: gevent instead of gthread. A stream waits
for minutes and works for microseconds; on the web server it holds a thread for its whole life and
wakes under the interpreter lock beside the requests of its process. As a greenlet it costs a few
kilobytes, and psycopg (3.1.14 and later) and redis-py wait cooperatively under gevent's monkey
patching, which the worker applies before it imports the app. bench/chat.py: 210 streams took
0.12 of a core here, and at 300 chats on 2 cores median delivery was 56 ms with this server
against 310 ms with the streams on the web server's threads.
"""

import os
import runpy

_base = runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gunicorn.conf.py"))
globals().update({name: value for name, value in _base.items() if not name.startswith("__")})

# Its own port, so a node can run both servers (nginx: upstream firstline_streams).
bind = f"0.0.0.0:{_int('STREAMS_PORT', 8001)}"  # noqa: F821 - from gunicorn.conf.py

worker_class = "gevent"
# Open streams per process; a browser tab holds one, an agent's console one.
worker_connections = _int("GUNICORN_WORKER_CONNECTIONS", 4000)  # noqa: F821 - from gunicorn.conf.py
# One process per core: a stream process never waits on anything but its sockets. Not
# WEB_CONCURRENCY: both servers read one environment file on a node, and that one sizes the web.
workers = _int("STREAMS_CONCURRENCY", multiprocessing.cpu_count())  # noqa: F821
