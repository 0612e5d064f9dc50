ALTER TABLE "run_candidates" ADD COLUMN "sample_rows" integer;--> statement-breakpoint
ALTER TABLE "run_candidates" ADD COLUMN "split_rows" integer;