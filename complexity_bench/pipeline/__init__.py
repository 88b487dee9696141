"""A suite from plan to files: jobs, executors, the run store, measure evaluation, outputs."""
