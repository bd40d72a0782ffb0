"""The study: replications and where they run, their summary and intervals, stability,
objectives, claims, incidents, failure matrices, availability, sweeps and the planner."""
