"""What a measure, a task and a run are: the contracts plugins implement."""
