-- What the trainer holding a run is doing now (contracts' runPhaseSchema). Runs recorded before it: null, as for any run no trainer is working on.
ALTER TABLE "training_runs" ADD COLUMN "phase" jsonb;
