"""The capacity planner: the cheapest fleet of a design space that meets the scenario's
objectives and survives each failure of its matrix within the claims file's targets."""
