"""Fleet benchmarks, controller side: job specs, peak FLOPs, ingestion, baselines, comparison, reports."""
