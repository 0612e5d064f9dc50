ALTER TABLE "training_runs" ADD COLUMN "kind" text DEFAULT 'model' NOT NULL;--> statement-breakpoint
ALTER TABLE "training_runs" ADD COLUMN "parent_run_id" uuid;--> statement-breakpoint
ALTER TABLE "training_runs" ADD COLUMN "share" jsonb;--> statement-breakpoint
ALTER TABLE "training_runs" ADD CONSTRAINT "training_runs_parent_run_id_training_runs_id_fk" FOREIGN KEY ("parent_run_id") REFERENCES "public"."training_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "training_runs_parent_created_at_id_idx" ON "training_runs" USING btree ("parent_run_id","created_at","id");