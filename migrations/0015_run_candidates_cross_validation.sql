ALTER TABLE "run_candidates" ADD COLUMN "cv_accuracy" double precision;--> statement-breakpoint
ALTER TABLE "run_candidates" ADD COLUMN "cv_loss" double precision;