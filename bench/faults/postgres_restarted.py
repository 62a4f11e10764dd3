"""Fault: PostgreSQL restarted (fast shutdown) during load.

    python bench/faults/postgres_restarted.py

A PostgreSQL cluster of the script's own (initdb, its own port): never the machine's shared
server. Requests in flight during the restart get a 500 (the page « Erreur du serveur »);
activations committed before it are sent; the dispatcher LISTENs again; sessions live in Redis
and survive.
"""

from _stack import run


def main():
    run("postgres_restarted", lambda stack: stack.pg.restart(), after=15,
        notes="own PostgreSQL cluster restarted (pg_ctl restart -m fast) during load")


if __name__ == "__main__":
    main()
