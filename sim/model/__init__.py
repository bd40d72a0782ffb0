"""The model: what the system is (the scenario format, the topology, the request path
as data, the workload, prices and failure rates), apart from how it runs."""
