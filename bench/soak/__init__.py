"""The soak (issue 19): two API instances, a worker, a private PostgreSQL and Ceph RGW under mixed traffic
from many simulated users while faults are injected; afterwards a checker reconciles the client's history
with what the system holds. `make soak` (python -m bench.soak) for ten minutes; tests/test_soak.py a short one.

topology (the processes and the faults' levers) · traffic (the users) · faults (the schedule) ·
history (what the clients saw) · checker (the reconciliation) · report (BENCHMARKS.md) · runner (one run)."""
