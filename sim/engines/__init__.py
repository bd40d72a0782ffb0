"""The engines: the setup both share (setup), the reference engine (reference: a SimPy
process per request) and the fast one (fast: the request path compiled), and what
they run on (stations, the control plane and its mechanisms, streams, records)."""
