"""Training: the reference loop and the cohort engines that must equal it run for run."""
